"""Fixtures for the client tests: a tiny synthetic pool folder and a target task folder on disk."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

SHAPES = ("bar_h", "bar_v", "disc")


def shape_image(kind: str, rng) -> np.ndarray:
    """A white shape on black, 32x32 RGB, with random position and size."""
    a = np.zeros((32, 32), np.uint8)
    yy, xx = np.mgrid[0:32, 0:32]
    c, w = int(rng.integers(8, 24)), int(rng.integers(2, 5))
    if kind == "bar_h":
        a[c - w:c + w, 4:28] = 255
    elif kind == "bar_v":
        a[4:28, c - w:c + w] = 255
    elif kind == "disc":
        r = int(rng.integers(5, 9))
        a[(yy - c) ** 2 + (xx - int(rng.integers(10, 22))) ** 2 <= r * r] = 255
    else:  # noise
        a = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    a = np.clip(a.astype(np.int16) + rng.integers(-20, 20, a.shape), 0, 255).astype(np.uint8)
    return np.repeat(a[:, :, None], 3, axis=2)


def write_folder(root, classes, per_class, seed, names=None):
    rng = np.random.default_rng(seed)
    for c, kind in enumerate(classes):
        d = root / (names[c] if names else kind)
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(shape_image(kind, rng)).save(d / f"{i:04d}.png")


@pytest.fixture(scope="session")
def tiny_pool(tmp_path_factory):
    """120 images per folder: the three shapes and noise (the pool holds what the task needs, and more)."""
    root = tmp_path_factory.mktemp("pool")
    write_folder(root, SHAPES + ("noise",), 120, seed=1, names=["s.bar_h", "s.bar_v", "s.disc", "t.noise"])
    return root


@pytest.fixture(scope="session")
def tiny_target(tmp_path_factory):
    """A target task with train/val/test, 3 classes named differently from the pool folders."""
    root = tmp_path_factory.mktemp("target")
    names = ["horizontal", "vertical", "round"]
    write_folder(root / "train", SHAPES, 60, seed=2, names=names)
    write_folder(root / "val", SHAPES, 10, seed=3, names=names)
    write_folder(root / "test", SHAPES, 40, seed=4, names=names)
    return root
