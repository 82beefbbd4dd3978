"""Client side: train a model from a payload and a pool the client already holds (torch extra).

* :class:`PseudoLabelDataset` — the kept pool images with their labels, after the pool-identity check;
* :func:`train_student` / :func:`evaluate` — the default trainer (ResNet-18 adapted to small inputs, AdamW
  lr 1e-3, cosine schedule, batch augmentation) and top-1 accuracy on a labelled folder or dataset;
* trainers are plugins (entry-point group ``plada_codec.trainers``, protocol in docs/CLIENT.md):
  :func:`get_trainer`, :func:`list_trainers`.

Importing this package does not import torch (the CLI lists commands without it); the names below load
on first use.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "PseudoLabelDataset": ".dataset",
    "open_pool": ".dataset",
    "load_pool_arrays": ".dataset",
    "train_student": ".student",
    "evaluate": ".student",
    "target_dataset": ".student",
    "DEFAULT_STUDENT": ".student",
    "get_trainer": ".trainers",
    "list_trainers": ".trainers",
    "TorchTrainer": ".trainers",
    "NearestCentroidTrainer": ".trainers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
