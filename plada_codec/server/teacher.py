"""Teachers: train one on the target training data, save it, load it.

Any ``torch.nn.Module`` mapping an image batch (B, 3, S, S) in [-1, 1] to logits (B, C) can be a teacher
(:func:`plada_codec.server.scoring.score` takes the module itself).  :func:`train_teacher` fine-tunes a
model from the registry (:func:`plada_codec.models.get_model`: ``small-cnn``, ``resnet18``,
``efficientnet-lite0-frozen`` or a plugin) on a labelled folder, holding out a stratified validation split
(default 10 %).  That split is recorded in the teacher file: ``--rule auto`` validates candidate rules
on it, because the teacher never trained on it, and the target test set is never read by any of this.

>>> import numpy as np
>>> tr, va = split_train_val(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.25, seed=0)
>>> len(tr), len(va), sorted(np.bincount(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])[va]).tolist())
(7, 3, [1, 2])
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import Subset

from ..errors import InputError, PladaError, PoolError, UsageError
from ..files import atomic_output
from ..models import get_model
from ..torch_data import labelled_folder, targets_of
from ..training import History, train_classifier
from .scoring import teacher_id

CHECKPOINT_FORMAT = "plada_codec.teacher"
CHECKPOINT_VERSION = 1
DEFAULT_VAL_FRACTION = 0.1


def split_train_val(targets, val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Stratified split of positions ``0..n-1``: per class ``round(val_fraction * n_c)`` (at least 1 when the
    class has 2+ examples and val_fraction > 0) go to validation.  Both index arrays are sorted."""
    targets = np.asarray(targets, dtype=np.int64)
    if not 0 <= val_fraction < 1:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val: List[np.ndarray] = []
    for c in np.unique(targets):
        members = np.flatnonzero(targets == c)
        m = int(round(val_fraction * len(members)))
        if val_fraction > 0 and len(members) >= 2:
            m = min(max(m, 1), len(members) - 1)
        val.append(rng.permutation(members)[:m])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train_mask = np.ones(len(targets), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


@dataclass
class Teacher:
    """A trained teacher and what was recorded about its training."""

    model: torch.nn.Module
    arch: Optional[str]
    num_classes: int
    image_size: int
    channels: int = 3
    class_names: Optional[List[str]] = None
    #: positions (in the target folder's canonical order) held out from training
    val_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: the target training folder and its identity (sha256 hex, size), when trained from a folder
    train_root: Optional[str] = None
    train_sha256: Optional[str] = None
    train_size: Optional[int] = None
    history: Dict[str, Any] = field(default_factory=dict)

    @property
    def teacher_id(self) -> str:
        return teacher_id(self.model)

    def save(self, path) -> None:
        if self.arch is None:
            raise PladaError("only registry models (arch given) can be saved; score a custom module directly")
        with atomic_output(path) as f:
            torch.save({
                "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "arch": self.arch,
                "num_classes": self.num_classes, "image_size": self.image_size, "channels": self.channels,
                "class_names": self.class_names, "val_indices": torch.as_tensor(self.val_indices, dtype=torch.int64),
                "train_root": self.train_root, "train_sha256": self.train_sha256, "train_size": self.train_size,
                "history": self.history, "state_dict": self.model.state_dict(),
            }, f)


def load_teacher(path, device="cpu") -> Teacher:
    """Load a teacher written by :meth:`Teacher.save` (weights-only unpickling: safe on untrusted files).
    :class:`InputError` when the file is missing or is not a teacher file."""
    if not os.path.exists(path):
        raise InputError(f"teacher file {path} does not exist")
    not_teacher = InputError(f"{path} is not a teacher file (written by `teacher`)")
    try:
        ck = torch.load(str(path), map_location=device, weights_only=True)
    except OSError as exc:
        raise InputError(f"cannot read teacher file {path}: {exc.strerror or exc}") from None
    except Exception:  # torch's unpickler raises anything (KeyError, RuntimeError, UnpicklingError) on other bytes
        raise not_teacher from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise not_teacher
    if ck.get("version") != CHECKPOINT_VERSION:
        raise InputError(f"{path}: teacher file version {ck.get('version')} is not {CHECKPOINT_VERSION}")
    try:
        model = get_model(ck["arch"], ck["num_classes"], ck["image_size"], ck["channels"])
        model.load_state_dict(ck["state_dict"])
        teacher = Teacher(model=model.eval(), arch=ck["arch"], num_classes=ck["num_classes"],
                          image_size=ck["image_size"], channels=ck["channels"], class_names=ck["class_names"],
                          val_indices=ck["val_indices"].numpy(), train_root=ck["train_root"],
                          train_sha256=ck["train_sha256"], train_size=ck["train_size"], history=ck["history"])
    except (KeyError, RuntimeError, AttributeError, TypeError) as exc:  # fields missing or weights not fitting
        raise InputError(f"{path} is a damaged teacher file: {exc}") from None
    return teacher


def open_training_folder(root, image_size: int, what: str = "training folder"):
    """:func:`~plada_codec.torch_data.labelled_folder` for a target training folder, its problems raised as
    :class:`InputError` naming the folder (``PoolError`` is for the pool)."""
    if not os.path.isdir(root):
        raise InputError(f"{what} {root} {'is not a folder' if os.path.exists(root) else 'does not exist'}")
    try:
        return labelled_folder(root, image_size)
    except PoolError as exc:
        raise InputError(f"{what} {root}: {exc}") from None


def train_teacher(train, *, arch: str = "small-cnn", model: Optional[torch.nn.Module] = None,
                  image_size: int = 32, epochs: int = 10, lr: float = 1e-3, batch_size: int = 128,
                  val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0, augment: bool = True, flip: bool = True,
                  device=None,
                  num_workers: int = 0, progress: bool = True, class_names: Optional[List[str]] = None,
                  log=None) -> Teacher:
    """Train a teacher on ``train``: a labelled folder (``root/<class>/<image>``) or a Dataset of
    (tensor, label) with ``.targets``.  ``model`` (any nn.Module) replaces the registry model ``arch``.
    A stratified ``val_fraction`` is held out (recorded in the result for ``--rule auto``)."""
    train_root = train_sha = train_size = None
    if isinstance(train, (str, Path)):
        dataset, names, target_pool = open_training_folder(train, image_size)
        class_names = class_names or names
        train_root, train_sha, train_size = str(train), target_pool.identity.hexdigest, len(target_pool)
    else:
        dataset = train
    targets = targets_of(dataset)
    num_classes = int(targets.max()) + 1 if class_names is None else len(class_names)
    if num_classes < 2:
        raise PladaError("a teacher needs at least 2 classes")
    tr_idx, va_idx = split_train_val(targets, val_fraction, seed)
    if model is None:
        torch.manual_seed(seed)
        model = get_model(arch, num_classes, image_size)
    else:
        arch = None
    history: History = train_classifier(
        model, Subset(dataset, tr_idx.tolist()), Subset(dataset, va_idx.tolist()) if len(va_idx) else None,
        epochs=epochs, lr=lr, batch_size=batch_size, augment=augment, flip=flip, device=device,
        num_workers=num_workers,
        progress=progress, seed=seed, desc="teacher", log=log)
    model.to("cpu").eval()
    return Teacher(model=model, arch=arch, num_classes=num_classes, image_size=image_size, class_names=class_names,
                   val_indices=va_idx, train_root=train_root, train_sha256=train_sha, train_size=train_size,
                   history=history.as_dict())


__all__ = ["Teacher", "train_teacher", "load_teacher", "open_training_folder", "split_train_val",
           "DEFAULT_VAL_FRACTION"]
