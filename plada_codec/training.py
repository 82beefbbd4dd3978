"""Generic classifier training, shared by the server's teacher and the client's student (torch extra).

Recipe (the source paper's student recipe, used for both): AdamW (lr 1e-3, weight decay 0.05), cosine
learning-rate schedule per step down to 0, cross-entropy; optional batch augmentation for small images
(random translation by up to 1/8 of the side with reflection padding, random horizontal flip unless
``flip=False``: flips are wrong for digits and glyphs), done on whole batches on the training device so
datasets stay cheap.

Small datasets (at most :data:`MATERIALIZE_MAX_BYTES` of float tensors) are transformed once and held in
memory; batches are then slices of one tensor in the same shuffled order a DataLoader would draw, which
is ~1.5-2x faster on a CPU than transforming every image again in every epoch.

>>> import numpy as np, torch
>>> from plada_codec.torch_data import ArrayDataset
>>> from plada_codec.models import get_model
>>> rng = np.random.default_rng(0)
>>> data = ArrayDataset(rng.integers(0, 255, (64, 32, 32, 3), dtype=np.uint8), rng.integers(0, 2, 64))
>>> history = train_classifier(get_model("small-cnn", 2), data, epochs=1, batch_size=32, progress=False)
>>> len(history.epochs)
1

Threads: set ``torch.set_num_threads`` to the free cores before calling (the CLI commands do); on a
shared 2-core machine oversubscription is ~10x slower.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from .errors import UsageError

DEFAULT_LR = 1e-3
DEFAULT_WEIGHT_DECAY = 0.05
#: datasets whose transformed tensors fit in this many bytes are materialized once (see the module doc)
MATERIALIZE_MAX_BYTES = 512 * 2**20


def progress_bar(iterable=None, total=None, desc: str = "", enabled: bool = True, unit: str = "it", **kw):
    """A tqdm bar that is silent when disabled or when stderr is not a terminal."""
    from tqdm.auto import tqdm

    disable = not enabled or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, unit=unit, leave=False, dynamic_ncols=True, **kw)


def resolve_device(device=None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UsageError(f"device {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {device!r}: no CUDA device on this machine (use cpu or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and numpy; return a torch Generator for data order and augmentation."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def augment_batch(x: torch.Tensor, generator: Optional[torch.Generator] = None, max_shift: Optional[int] = None,
                  flip: bool = True) -> torch.Tensor:
    """Random translation (reflection padding, up to ``max_shift`` pixels, default side/8) and random
    horizontal flip of each image of a (B, C, H, W) batch."""
    b, _, h, w = x.shape
    s = max(1, min(h, w) // 8) if max_shift is None else int(max_shift)
    if s > 0:
        padded = nn.functional.pad(x, (s, s, s, s), mode="reflect" if s < min(h, w) else "replicate")
        offs = torch.randint(0, 2 * s + 1, (b, 2), generator=generator).tolist()
        x = torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offs)])
    if flip:
        mask = (torch.rand(b, generator=generator) < 0.5).to(x.device)
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


@dataclass
class History:
    """Per-epoch records: epoch, loss, train_acc, val_acc (None without a validation set), lr, seconds,
    images_per_s."""

    epochs: List[Dict] = field(default_factory=list)

    @property
    def final_val_acc(self) -> Optional[float]:
        return self.epochs[-1]["val_acc"] if self.epochs else None

    @property
    def best_val_acc(self) -> Optional[float]:
        vals = [e["val_acc"] for e in self.epochs if e["val_acc"] is not None]
        return max(vals) if vals else None

    def as_dict(self) -> Dict:
        return {"epochs": list(self.epochs)}


def _loader(dataset, batch_size: int, shuffle: bool, num_workers: int, generator=None) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      generator=generator, drop_last=False, persistent_workers=False,
                      pin_memory=False)


def materialize(dataset, max_bytes: int = MATERIALIZE_MAX_BYTES):
    """``(images, labels)`` tensors of a whole dataset of (image tensor, label) pairs, or ``None`` when it
    would take more than ``max_bytes`` (judged from the first item)."""
    n = len(dataset)
    if n == 0:
        return None
    x0, _ = dataset[0]
    if not isinstance(x0, torch.Tensor) or n * x0.numel() * x0.element_size() > max_bytes:
        return None
    xs = torch.empty((n,) + tuple(x0.shape), dtype=x0.dtype)
    ys = torch.empty(n, dtype=torch.int64)
    for j in range(n):
        x, y = dataset[j]
        xs[j] = x
        ys[j] = int(y)
    return xs, ys


class _TensorBatches:
    """Batches of in-memory tensors in exactly the order the DataLoader path draws: per epoch the loader's
    shared seed is drawn first (from the generator, or the global RNG for the weighted sampler), then
    ``randperm`` (or ``multinomial`` with replacement by ``weights``); the last batch may be smaller.
    So a run gives the same model whichever path it takes."""

    def __init__(self, xs, ys, batch_size: int, generator, weights=None):
        self.xs, self.ys, self.batch_size, self.generator, self.weights = xs, ys, int(batch_size), generator, weights

    def __len__(self) -> int:
        return (len(self.ys) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        # like a DataLoader iterator: creating it draws the loader's shared seed at once (tqdm.auto creates
        # one it never reads), the sampler draws its order lazily, at the first batch
        if self.weights is None:
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        else:
            torch.empty((), dtype=torch.int64).random_()  # that loader has no generator: the global RNG
        return self._batches()

    def _batches(self):
        n = len(self.ys)
        if self.weights is None:
            order = torch.randperm(n, generator=self.generator)
            torch.randperm(n, generator=self.generator)  # RandomSampler draws one more for its empty tail
        else:
            order = torch.multinomial(self.weights, n, replacement=True, generator=self.generator)
        for s in range(0, n, self.batch_size):
            j = order[s:s + self.batch_size]
            yield self.xs[j], self.ys[j]


def train_classifier(model: nn.Module, train_dataset, val_dataset=None, *, epochs: int = 10,
                     lr: float = DEFAULT_LR, weight_decay: float = DEFAULT_WEIGHT_DECAY,
                     batch_size: int = 128, augment: bool = True, flip: bool = True, device=None,
                     num_workers: int = 0, progress: bool = True, seed: int = 0, label_smoothing: float = 0.0,
                     sample_weights=None, desc: str = "train", log=None,
                     materialize_max_bytes: int = MATERIALIZE_MAX_BYTES, channels_last: bool = False) -> History:
    """Train ``model`` in place on a dataset of (image tensor, label) pairs; return its :class:`History`.

    augment: random shifts, and random horizontal flips when ``flip`` (see :func:`augment_batch`).
    sample_weights: optional per-example weights (length ``len(train_dataset)``) used for sampling with
    replacement instead of shuffling (e.g. to balance classes).
    log: optional callable receiving each epoch record (e.g. ``print``).
    materialize_max_bytes: hold the transformed dataset in memory when it fits (0: never; the dataset is
    then read through a DataLoader every epoch).
    channels_last: train in NHWC memory format (the model is converted in place); ~5-10 % faster for
    small conv nets on this project's CPUs, the same model up to float rounding.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if len(train_dataset) == 0:
        raise ValueError("the training set is empty")
    dev = resolve_device(device)
    g = seed_everything(seed)
    model.to(dev)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        model.to(memory_format=torch.channels_last)
    held = materialize(train_dataset, materialize_max_bytes) if num_workers == 0 else None
    if held is not None:
        w = None if sample_weights is None else torch.as_tensor(np.asarray(sample_weights, dtype=np.float64))
        loader = _TensorBatches(held[0], held[1], batch_size, g, w)  # same batches as the branches below
    elif sample_weights is not None:
        w = torch.as_tensor(np.asarray(sample_weights, dtype=np.float64))
        sampler = torch.utils.data.WeightedRandomSampler(w, num_samples=len(train_dataset), replacement=True,
                                                         generator=g)
        loader = DataLoader(train_dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers)
    else:
        loader = _loader(train_dataset, batch_size, True, num_workers, generator=g)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    total_steps = epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps)))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    history = History()
    aug_gen = torch.Generator().manual_seed(seed + 1)
    for epoch in range(epochs):
        model.train()
        t0 = time.perf_counter()
        seen, correct, loss_sum = 0, 0, 0.0
        bar = progress_bar(loader, total=len(loader), desc=f"{desc} {epoch + 1}/{epochs}", enabled=progress,
                           unit="batch")
        for x, y in bar:
            x = x.to(dev, non_blocking=True)
            y = torch.as_tensor(y).to(dev, non_blocking=True)
            if augment:
                x = augment_batch(x, aug_gen, flip=flip)
            out = model(x.contiguous(memory_format=fmt))
            loss = loss_fn(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            n = len(y)
            seen += n
            loss_sum += float(loss.detach()) * n
            correct += int((out.detach().argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
        bar.close()
        seconds = time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "loss": loss_sum / seen,
            "train_acc": correct / seen,
            "val_acc": None,
            "lr": opt.param_groups[0]["lr"],
            "seconds": seconds,
            "images_per_s": seen / seconds if seconds > 0 else float("inf"),
        }
        if val_dataset is not None and len(val_dataset):
            record["val_acc"] = evaluate(model, val_dataset, batch_size=max(batch_size, 256), device=dev,
                                         num_workers=num_workers)
        history.epochs.append(record)
        if log is not None:
            log(record)
    model.eval()
    return history


@torch.no_grad()
def predict_logits(model: nn.Module, dataset, batch_size: int = 256, device=None, num_workers: int = 0,
                   progress: bool = False, desc: str = "predict", channels_last: bool = False) -> torch.Tensor:
    """Logits (n, C) float32 on the CPU, in dataset order; the dataset's second item is ignored.

    channels_last: feed NHWC batches (convert the model with ``model.to(memory_format=torch.channels_last)``
    first); ~30 % faster for conv nets on this project's CPUs.
    """
    dev = resolve_device(device)
    model.to(dev).eval()
    outs = []
    loader = _loader(dataset, batch_size, False, num_workers)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for x, _ in progress_bar(loader, total=len(loader), desc=desc, enabled=progress, unit="batch"):
        outs.append(model(x.to(dev).contiguous(memory_format=fmt)).float().cpu())
    if not outs:
        return torch.zeros((0, 0))
    return torch.cat(outs)


def evaluate(model: nn.Module, dataset, batch_size: int = 256, device=None, num_workers: int = 0,
             progress: bool = False) -> float:
    """Top-1 accuracy of ``model`` on a dataset of (image tensor, label) pairs."""
    if len(dataset) == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    dev = resolve_device(device)
    model.to(dev).eval()
    correct = 0
    loader = _loader(dataset, batch_size, False, num_workers)
    with torch.no_grad():
        for x, y in progress_bar(loader, total=len(loader), desc="evaluate", enabled=progress, unit="batch"):
            pred = model(x.to(dev)).argmax(1).cpu()
            correct += int((pred == torch.as_tensor(y)).sum())
    return correct / len(dataset)


__all__ = ["train_classifier", "evaluate", "predict_logits", "History", "augment_batch", "progress_bar", "materialize",
           "resolve_device", "seed_everything", "DEFAULT_LR", "DEFAULT_WEIGHT_DECAY"]
