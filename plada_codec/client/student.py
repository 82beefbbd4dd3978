"""Train a student on pseudo-labelled pool images and measure it on a labelled target folder.

The default student follows the source paper's client: torchvision ResNet-18 (adapted to small inputs by
:func:`plada_codec.models.get_model`: 3x3 stem, no max-pool), AdamW lr 1e-3, cosine schedule, with the
batch augmentation of :mod:`plada_codec.training` (random shifts, horizontal flips unless ``flip=False``:
turn them off for digits, glyphs and any task whose classes change under a mirror).  Any ``nn.Module``
mapping (B, 3, S, S) images in [-1, 1] to logits can replace it.

Epochs: ``epochs`` when given; otherwise ``samples`` sets the number of images seen (``ceil(samples / k)``
epochs, clamped to [1, max_epochs]) so tiny and large payloads get comparable optimisation effort.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..errors import PladaError
from ..models import get_model
from ..torch_data import PoolDataset, SmallImageTransform, labelled_folder
from ..training import History, evaluate as _evaluate, train_classifier

DEFAULT_STUDENT = "resnet18"
DEFAULT_EPOCHS = 30
MAX_EPOCHS = 200


def epochs_for(n: int, epochs: Optional[int] = None, samples: Optional[int] = None,
               max_epochs: int = MAX_EPOCHS) -> int:
    """Epochs to train on ``n`` images: ``epochs``, or ``ceil(samples / n)`` clamped to [1, max_epochs]."""
    if epochs is not None:
        return int(epochs)
    if samples is None:
        return DEFAULT_EPOCHS
    return int(min(max_epochs, max(1, math.ceil(samples / max(n, 1)))))


def train_student(dataset: Dataset, num_classes: int, *, model: Union[str, nn.Module] = DEFAULT_STUDENT,
                  image_size: int = 32, epochs: Optional[int] = None, samples: Optional[int] = None,
                  lr: float = 1e-3, weight_decay: float = 0.05, batch_size: int = 128, augment: bool = True,
                  flip: bool = True, label_smoothing: float = 0.0, seed: int = 0, device=None,
                  num_workers: int = 0, progress: bool = True, log=None, desc: str = "student",
                  channels_last: bool = False) -> Tuple[nn.Module, History]:
    """Train a student on ``dataset`` (e.g. a :class:`~.dataset.PseudoLabelDataset`); returns
    ``(model in eval mode, History)``.  ``model``: a registry name (``resnet18``, ``small-cnn``, a
    ``plada_codec.teachers`` plugin) or any ``nn.Module``.  ``num_workers``: DataLoader worker processes
    (0: images are read in this process, and held in memory when they fit)."""
    if len(dataset) == 0:
        raise PladaError("the payload keeps no image: nothing to train on")
    if isinstance(model, str):
        torch.manual_seed(seed)
        model = get_model(model, num_classes, image_size)
    history = train_classifier(model, dataset, epochs=epochs_for(len(dataset), epochs, samples), lr=lr,
                               weight_decay=weight_decay, batch_size=batch_size, augment=augment, flip=flip,
                               label_smoothing=label_smoothing, device=device, num_workers=num_workers,
                               progress=progress, seed=seed, desc=desc, log=log, channels_last=channels_last)
    return model, history


class _Relabelled(Dataset):
    def __init__(self, base, mapping: np.ndarray):
        self.base, self.mapping = base, mapping

    def __len__(self):
        return len(self.base)

    def __getitem__(self, j):
        x, y = self.base[j]
        return x, int(self.mapping[y])

    @property
    def targets(self):
        return self.mapping[np.asarray(self.base.targets)]


def target_dataset(folder, class_names: Optional[Sequence[str]] = None, image_size: int = 32):
    """A labelled target folder (``folder/<class>/<image>``) as ``(dataset, folder class names)``.

    With ``class_names`` (a payload's), labels are mapped by class *name* onto the payload's class indices;
    a folder class the payload does not know gets label -1 (always counted wrong).  Without them, the
    sorted folder order is the class order (the teacher's, when it was trained on the same layout).
    """
    ds, names, _ = labelled_folder(folder, image_size)
    if class_names is None:
        return ds, names
    index = {c: i for i, c in enumerate(class_names)}
    mapping = np.array([index.get(n, -1) for n in names], dtype=np.int64)
    if (mapping < 0).all():
        raise PladaError(f"none of the folder classes {names[:5]}... is a payload class {list(class_names)[:5]}...")
    return _Relabelled(ds, mapping), names


def evaluate(model: nn.Module, data, class_names: Optional[Sequence[str]] = None, image_size: int = 32,
             batch_size: int = 256, device=None) -> float:
    """Top-1 accuracy of ``model`` on a Dataset of (tensor, label), or on a labelled folder (see
    :func:`target_dataset` for how ``class_names`` maps its classes)."""
    if not isinstance(data, Dataset):
        data, _ = target_dataset(data, class_names, image_size)
    return _evaluate(model, data, batch_size=batch_size, device=device)


__all__ = ["train_student", "evaluate", "target_dataset", "epochs_for", "DEFAULT_STUDENT"]
