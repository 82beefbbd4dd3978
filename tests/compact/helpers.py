"""Shared generators for the compact-coder tests (folder-structured payloads like the corpus)."""
from __future__ import annotations

import hashlib

import numpy as np

from plada_codec import PoolIdentity


class GroupedPool:
    """A Pool stand-in: identity plus folder sizes (enables the needs_groups codecs)."""

    def __init__(self, group_sizes):
        self.group_sizes = np.asarray(group_sizes, dtype=np.int64)
        n = int(self.group_sizes.sum())
        self.identity = PoolIdentity("compact-test", n, hashlib.sha256(self.group_sizes.tobytes()).digest())


def folder_payload(rng, n_folders=40, folder_size=(5, 400), num_classes=20, noise=0.3):
    """A small payload shaped like the corpus: folders with their own density, labels = the folder's
    dominant class with probability 1 - noise, else a skewed draw.  Returns (idx, lab, N, C, groups)."""
    groups = rng.integers(folder_size[0], folder_size[1], size=n_folders).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(groups)])
    idx, lab = [], []
    for f in range(n_folders):
        density = rng.choice([0.0, 0.0, 0.01, 0.05, 0.3, 0.8])
        kept = np.flatnonzero(rng.random(groups[f]) < density) + starts[f]
        dom = rng.integers(0, num_classes)
        lf = np.where(rng.random(kept.size) < noise,
                      np.minimum(rng.zipf(1.5, kept.size) - 1, num_classes - 1), dom)
        idx.append(kept)
        lab.append(lf)
    idx = np.concatenate(idx).astype(np.int64)
    lab = np.concatenate(lab).astype(np.int64)
    return idx, lab, int(starts[-1]), num_classes, groups


def folder_starts(groups) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(groups)]).astype(np.int64)


def mutations(rng, data: np.ndarray, count=8):
    """Corrupted copies: bit flips, random bytes, truncations, appended bytes, random streams."""
    out = []
    for _ in range(count):
        d = data.copy()
        kind = int(rng.integers(0, 5))
        if kind == 0 and d.size:
            i = rng.integers(0, d.size)
            d[i] ^= np.uint8(1 << int(rng.integers(0, 8)))
        elif kind == 1 and d.size:
            d[rng.integers(0, d.size)] = rng.integers(0, 256)
        elif kind == 2:
            d = d[: int(rng.integers(0, d.size + 1))].copy()
        elif kind == 3:
            d = np.concatenate([d, rng.integers(0, 256, size=int(rng.integers(1, 4))).astype(np.uint8)])
        else:
            d = rng.integers(0, 256, size=d.size).astype(np.uint8)
        out.append(d)
    return out
