"""The client's view of a payload: the kept pool images and their labels, as a torch Dataset.

>>> import numpy as np, plada_codec
>>> from plada_codec.pool import Pool
>>> pool = Pool.from_arrays(np.zeros((10, 32, 32, 3), np.uint8))
>>> blob = plada_codec.encode(np.array([2, 5]), np.array([1, 0]), pool_size=10, num_classes=2, pool=pool)
>>> ds = PseudoLabelDataset(pool, blob)
>>> len(ds), ds[1][1]
(2, 0)
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .. import decode
from ..errors import InputError, PoolError, PoolMismatch
from ..identity import check_same_pool
from ..payload import Payload
from ..pool import Pool
from ..torch_data import PoolDataset


def open_pool(pool) -> Pool:
    """A :class:`Pool` from a Pool or a folder path."""
    if isinstance(pool, Pool):
        return pool
    if isinstance(pool, (str, os.PathLike)):
        return Pool.from_folder(pool)
    raise TypeError(f"expected a Pool or a folder, got {type(pool).__name__}")


def _payload_of(payload, pool: Pool, limits=None) -> Payload:
    if isinstance(payload, Payload):
        if payload.pool is None:
            raise PoolMismatch("the payload names no pool; it cannot be checked against "
                               f"{pool.identity.describe()}")
        check_same_pool(payload.pool, pool.identity)
        return payload
    if isinstance(payload, (str, os.PathLike)):
        try:
            blob = Path(payload).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read payload {payload}: {exc.strerror or exc}") from None
    else:
        blob = bytes(payload)
    return decode(blob, pool=pool, limits=limits)


class PseudoLabelDataset(PoolDataset):
    """``(image tensor, label)`` for every kept pool image of ``payload``.

    pool:    a :class:`~plada_codec.pool.Pool` or its folder;
    payload: the payload bytes, a ``.pld`` path, or a decoded :class:`~plada_codec.Payload`.  Decoding
             checks that the payload was built for this pool (:class:`PoolMismatch` names both pools
             otherwise), so a client holding another pool, or the same images in another order, never
             trains on wrong labels.
    """

    def __init__(self, pool, payload, transform=None, limits=None):
        pool = open_pool(pool)
        self.payload = _payload_of(payload, pool, limits)
        super().__init__(pool, transform, indices=self.payload.indices, labels=self.payload.labels)

    @property
    def num_classes(self) -> int:
        return self.payload.num_classes

    @property
    def class_names(self):
        return self.payload.class_names


def load_pool_arrays(pool, cache_dir: Optional[Union[str, os.PathLike]] = None, progress: bool = True) -> Pool:
    """The same pool held in memory (``Pool.from_arrays`` with the same manifest, so the same identity):
    every image decoded once to uint8 RGB, cached as ``<cache_dir>/pool-<sha256>.npy`` when given.

    Worth it when a pool is read many times (the demo trains dozens of students on it); all images must
    have one size.
    """
    pool = open_pool(pool)
    if pool.images is not None:
        return pool
    ident = pool.identity
    path = Path(cache_dir) / f"pool-{ident.hexdigest[:32]}.npy" if cache_dir else None
    images = None
    if path is not None and path.exists():
        try:
            images = np.load(path, mmap_mode=None)
        except (OSError, ValueError):
            images = None
        if images is not None and len(images) != len(pool):
            images = None
    if images is None:
        from ..training import progress_bar

        first = np.asarray(pool.load_image(0).convert("RGB"))
        images = np.empty((len(pool),) + first.shape, np.uint8)
        for i in progress_bar(range(len(pool)), desc="load pool", enabled=progress, unit="img"):
            a = np.asarray(pool.load_image(i).convert("RGB"))
            if a.shape != first.shape:
                raise PoolError(f"pool image {i} ({pool.paths[i]}) is {a.shape}, not {first.shape}; "
                                "an in-memory pool needs one image size")
            images[i] = a
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, images)
            os.replace(tmp, path)
    return Pool(pool.paths, pool.name, root=pool.root, images=images, _checked=True)


__all__ = ["PseudoLabelDataset", "open_pool", "load_pool_arrays"]
