"""Torch views of pools and labelled image sets (needs the torch extra).

* :class:`PoolDataset` — a pool (or a subset of it, with labels) as a ``torch.utils.data.Dataset``;
* :class:`ArrayDataset` — images held in a uint8 array with labels (targets built in memory, tests);
* :class:`SmallImageTransform` — the default transform for small images: RGB, square resize to ``size``
  (bilinear, on the whole image: no crop, so nothing at the border is lost), float tensor scaled to
  [-1, 1].  Arrays already at the target size skip PIL entirely (the fast path of in-memory pools).

Augmentation is done on whole batches by :mod:`plada_codec.training`, not here, so datasets stay cheap
and deterministic.

>>> import numpy as np
>>> from plada_codec.pool import Pool
>>> pool = Pool.from_arrays(np.zeros((4, 32, 32, 3), np.uint8))
>>> x, i = PoolDataset(pool)[2]
>>> tuple(x.shape), i
((3, 32, 32), 2)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import PoolError

DEFAULT_IMAGE_SIZE = 32


class SmallImageTransform:
    """PIL image or uint8 array (H, W[, C]) -> float tensor (channels, size, size) in [-1, 1].

    Gray images are repeated to 3 channels, alpha is dropped (like PIL's ``convert("RGB")``);
    ``channels=1`` produces gray tensors instead.
    """

    def __init__(self, size: int = DEFAULT_IMAGE_SIZE, channels: int = 3):
        if size < 1 or channels not in (1, 3):
            raise ValueError(f"size must be >= 1 and channels 1 or 3, got size={size}, channels={channels}")
        self.size = int(size)
        self.channels = int(channels)

    def __repr__(self) -> str:
        return f"SmallImageTransform(size={self.size}, channels={self.channels})"

    def _to_array(self, img) -> np.ndarray:
        from PIL import Image

        if isinstance(img, np.ndarray):
            arr = img
            if arr.shape[0] == self.size and arr.shape[1] == self.size:
                return self._channels(arr)
            img = Image.fromarray(arr)
        mode = "L" if self.channels == 1 else "RGB"
        if img.mode != mode:
            img = img.convert(mode)
        if img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), Image.BILINEAR)
        return self._channels(np.asarray(img))

    def _channels(self, arr: np.ndarray) -> np.ndarray:
        if arr.ndim == 2:
            arr = arr[:, :, None]
        c = arr.shape[2]
        if self.channels == 3:
            if c == 1:
                return np.repeat(arr, 3, axis=2)
            return arr[:, :, :3]
        if c == 1:
            return arr
        from PIL import Image  # the same luma rounding as the PIL path

        return np.asarray(Image.fromarray(np.ascontiguousarray(arr[:, :, :3])).convert("L"))[:, :, None]

    def __call__(self, img) -> torch.Tensor:
        arr = np.array(self._to_array(img), copy=True, order="C")  # writable, owned by the tensor
        x = torch.from_numpy(arr).permute(2, 0, 1).float()
        return x.div_(127.5).sub_(1.0)


class PoolDataset(Dataset):
    """A pool as a Dataset.  Item ``j`` is ``(image tensor, label)`` when ``labels`` is given, else
    ``(image tensor, global pool index)`` — the key the scoring shards use.

    indices: pool indices to view (default: the whole pool, in order).
    labels:  one label per viewed image (e.g. a decoded payload's labels).
    transform: callable on a PIL image or uint8 array; default :class:`SmallImageTransform` (32 px).
    """

    def __init__(self, pool, transform=None, indices: Optional[Sequence[int]] = None,
                 labels: Optional[Sequence[int]] = None):
        self.pool = pool
        self.transform = transform if transform is not None else SmallImageTransform()
        n = len(pool)
        if indices is None:
            self.indices = np.arange(n, dtype=np.int64)
        else:
            self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= n):
                raise PoolError(f"pool indices must lie in [0, {n})")
        if labels is None:
            self.labels = None
        else:
            self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
            if len(self.labels) != len(self.indices):
                raise ValueError(f"{len(self.indices)} indices but {len(self.labels)} labels")
        self._array_fast = getattr(pool, "images", None) is not None
        #: JPEGs may be decoded at reduced scale down to twice the transform's output size
        self._min_size = 2 * self.transform.size if isinstance(self.transform, SmallImageTransform) else None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int):
        i = int(self.indices[j])
        img = self.pool.load_array(i) if self._array_fast else self.pool.load_image(i, self._min_size)
        x = self.transform(img)
        return x, int(self.labels[j]) if self.labels is not None else i

    @property
    def targets(self) -> Optional[np.ndarray]:
        return self.labels


class ArrayDataset(Dataset):
    """uint8 images (n, H, W[, C]) with integer labels, as a Dataset of (tensor, label)."""

    def __init__(self, images, labels, transform=None):
        self.images = np.asarray(images)
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 (n, H, W[, C]), got {self.images.dtype} {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.transform = transform if transform is not None else SmallImageTransform()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, j: int):
        return self.transform(self.images[j]), int(self.labels[j])

    @property
    def targets(self) -> np.ndarray:
        return self.labels


def labelled_folder(root, size: int = DEFAULT_IMAGE_SIZE, channels: int = 3, cache=False):
    """A labelled target folder ``root/<class>/.../<image>`` as ``(PoolDataset, class_names, pool)``.

    Images are listed like a pool (canonical manifest order, which for class folders is torchvision's
    ImageFolder order); the label is the index of the top folder among the sorted class folders.  The
    returned :class:`~plada_codec.pool.Pool` identifies exactly which images were read.
    """
    from .pool import Pool

    pool = Pool.from_folder(root, cache=cache)
    tops = [p.split("/", 1)[0] if "/" in p else None for p in pool.paths]
    if any(t is None for t in tops):
        raise PoolError(f"{root}: images must sit in class folders (found {pool.paths[tops.index(None)]!r})")
    class_names = sorted(set(tops))
    index = {c: i for i, c in enumerate(class_names)}
    labels = np.array([index[t] for t in tops], dtype=np.int64)
    return PoolDataset(pool, SmallImageTransform(size, channels), labels=labels), class_names, pool


def targets_of(dataset) -> np.ndarray:
    """The labels of a dataset (``.targets``, through Subset, or by iterating as a last resort)."""
    from torch.utils.data import Subset

    if isinstance(dataset, Subset):
        return targets_of(dataset.dataset)[np.asarray(dataset.indices, dtype=np.int64)]
    t = getattr(dataset, "targets", None)
    if t is not None:
        return np.asarray(t, dtype=np.int64)
    return np.array([int(dataset[j][1]) for j in range(len(dataset))], dtype=np.int64)


__all__ = ["PoolDataset", "ArrayDataset", "SmallImageTransform", "labelled_folder", "targets_of",
           "DEFAULT_IMAGE_SIZE"]
