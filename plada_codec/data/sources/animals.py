"""Animal silhouettes (PyPI ``animal-mnist`` 0.4): 10,000 white-on-black 28x28 shapes of 10 animals."""
from __future__ import annotations

import gzip
import pickle

import numpy as np

from ..fetch import find_one
from ..imaging import gray_to_rgb
from . import TaskSource

PKG = "animal-mnist"
CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")


def _unpickle(path):
    with gzip.open(path, "rb") as f:
        return np.asarray(pickle.load(f))  # the package's own data files (a pinned wheel) hold numpy arrays


def load(pkgs):
    root = find_one(pkgs[PKG], "animal_mnist/data/Animal_MNIST", PKG)
    x = _unpickle(root / "animal_data_version_3.gz").astype(np.uint8)
    y = _unpickle(root / "animal_label_version_3.gz").astype(np.int64)
    return np.stack([gray_to_rgb(a) for a in x]), y


TASK = TaskSource("animals", "animal silhouettes (animal-mnist): 10 classes, white on black", "MIT",
                  CLASSES, load, pip=("animal-mnist==0.4",))
