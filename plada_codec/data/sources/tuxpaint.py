"""Tux Paint stamps (Debian ``tuxpaint-stamps-default``): the 8 largest stamp categories, on white."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..fetch import find_one
from ..imaging import fit
from . import TaskSource

PKG = "tuxpaint-stamps-default"
CLASSES = ("animals", "food", "household", "plants", "seasonal", "symbols", "town", "vehicles")


def load(pkgs):
    root = find_one(pkgs[PKG], "usr/share/tuxpaint/stamps", PKG)
    xs, ys = [], []
    for c, name in enumerate(CLASSES):
        for p in sorted((root / name).rglob("*.png")):
            try:
                with Image.open(p) as im:
                    xs.append(fit(im.convert("RGBA")))
            except (OSError, ValueError):
                continue
            ys.append(c)
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


TASK = TaskSource("tuxpaint", "Tux Paint stamp categories (8 classes, clip-art style, on white)",
                  "GPL-2 / public domain", CLASSES, load, apt=(PKG,), test_fraction=0.3)
