"""Far-out-of-domain task: procedural textures (no package; generated from a fixed seed).

Six classes of colour textures (stripes at three orientations, checkerboards, dots, smooth noise) with
random frequency, phase, colours and pixel noise.  Nothing in the pool looks like this, so it plays the
role the paper's medical datasets play: a task where low-energy ("vanilla") selection may not help.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..imaging import SIZE
from . import TaskSource

CLASSES = ("stripes_horizontal", "stripes_vertical", "stripes_diagonal", "checkerboard", "dots",
           "smooth_noise")
PER_CLASS = 500


def _pattern(c: int, rng) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    f = rng.uniform(0.15, 0.6)
    ph = rng.uniform(0, 2 * np.pi)
    if c == 0:
        v = np.sin(f * yy + ph)
    elif c == 1:
        v = np.sin(f * xx + ph)
    elif c == 2:
        sgn = 1 if rng.random() < 0.5 else -1
        v = np.sin(f * (xx + sgn * yy) / np.sqrt(2) + ph)
    elif c == 3:
        v = np.sin(f * xx + ph) * np.sin(f * yy + rng.uniform(0, 2 * np.pi))
    elif c == 4:
        v = np.cos(f * xx + ph) + np.cos(f * yy + ph)
        v = (v > 1.2).astype(np.float32) * 2 - 1
    else:
        small = rng.standard_normal((4, 4)).astype(np.float32)
        v = np.asarray(Image.fromarray(small, "F").resize((SIZE, SIZE), Image.BICUBIC))
        v = v / (np.abs(v).max() + 1e-6)
    t = (v - v.min()) / (v.max() - v.min() + 1e-6)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None] + rng.normal(0, 12, (SIZE, SIZE, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def load(pkgs):
    rng = np.random.default_rng(5)
    xs, ys = [], []
    for c in range(len(CLASSES)):
        for _ in range(PER_CLASS):
            xs.append(_pattern(c, rng))
            ys.append(c)
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


TASK = TaskSource("textures", "far-out-of-domain: procedural colour textures, 6 classes", "generated",
                  CLASSES, load, far_ood=True)
