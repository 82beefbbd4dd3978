"""Fashion-MNIST (Debian ``dataset-fashion-mnist``): 2,000 training images per class, resized to 32 px."""
from __future__ import annotations

import gzip

import numpy as np

from ..fetch import find_one
from ..imaging import gray_to_rgb
from . import PoolSource

CLASSES = ("tshirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle_boot")
PER_CLASS = 2000
PKG = "dataset-fashion-mnist"


def read_idx(path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def generate(pkgs):
    root = find_one(pkgs[PKG], "usr/share/datasets/fashion-mnist", PKG)
    x = read_idx(root / "train-images-idx3-ubyte.gz")
    y = read_idx(root / "train-labels-idx1-ubyte.gz")
    for c, name in enumerate(CLASSES):
        for i in np.flatnonzero(y == c)[:PER_CLASS]:
            yield name, gray_to_rgb(x[i])


SOURCE = PoolSource("fashion", "Fashion-MNIST training images (Zalando), 2,000 per class", "MIT",
                    generate, approx=PER_CLASS * len(CLASSES), apt=(PKG,))
