"""Tiny synthetic tasks for the server tests: colour classes, a pool with a planted structure."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

COLOURS = {"blue": (30, 40, 200), "green": (40, 190, 50), "red": (210, 30, 40)}


def colour_images(rng, colour, n, size=16, noise=40):
    base = np.array(colour, dtype=np.int64)[None, None, None, :]
    x = base + rng.integers(-noise, noise + 1, (n, size, size, 3))
    return np.clip(x, 0, 255).astype(np.uint8)


def write_folder(root, groups):
    """groups: {folder: uint8 images (n, H, W, 3)} -> PNG files root/folder/0000.png ..."""
    from PIL import Image

    for folder, imgs in groups.items():
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(imgs):
            Image.fromarray(img).save(d / f"{i:04d}.png")
    return root


@pytest.fixture(scope="session")
def task_dirs(tmp_path_factory):
    """A target (train/ and test/ with 3 colour classes) and a pool folder: 3 colour folders of 20 images
    plus 20 gray-noise images, 16 px."""
    rng = np.random.default_rng(0)
    base = tmp_path_factory.mktemp("task")
    train = write_folder(base / "target" / "train", {c: colour_images(rng, v, 24) for c, v in COLOURS.items()})
    test = write_folder(base / "target" / "test", {c: colour_images(rng, v, 6) for c, v in COLOURS.items()})
    pool_groups = {f"{c}s": colour_images(rng, v, 20, noise=60) for c, v in COLOURS.items()}
    pool_groups["zz-noise"] = rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    pool = write_folder(base / "pool", pool_groups)
    return {"train": train, "test": test, "pool": pool, "base": base}


def make_scores(energy, label, num_classes, entropy=None, name="planted", teacher="t0"):
    """A whole-pool ScoreTable from hand-made arrays."""
    from plada_codec.identity import PoolIdentity
    from plada_codec.server.scoring import ScoreTable

    energy = np.asarray(energy, np.float32)
    n = len(energy)
    ident = PoolIdentity(name, n, hashlib.sha256(name.encode()).digest())
    ent = np.asarray(entropy if entropy is not None else np.zeros(n), np.float32)
    return ScoreTable(pool=ident, teacher_id=teacher, temperature=1.0, num_classes=num_classes, start=0, stop=n,
                      energy=energy, entropy=ent, max_prob=np.ones(n, np.float32),
                      label=np.asarray(label, np.int32))
