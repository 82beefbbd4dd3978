"""The benchmark's image sources, one module each.

A *pool source* yields ``(category, 32x32x3 uint8 image)`` pairs; the builder writes them to
``pool/<source>.<category>/NNNNN.png`` so the pool is grouped by source, then category (as ImageNet is
grouped by synset).  A *task source* returns all its images and labels; the builder splits them into
train/val/test.  Every source names the Debian / PyPI packages it needs; the builder fetches them first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class PoolSource:
    name: str
    description: str
    licence: str
    generate: Callable[[Dict[str, object]], Iterator[Tuple[str, np.ndarray]]]
    approx: int
    apt: Tuple[str, ...] = ()
    pip: Tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskSource:
    name: str
    description: str
    licence: str
    classes: Tuple[str, ...]
    load: Callable[[Dict[str, object]], Tuple[np.ndarray, np.ndarray]]
    apt: Tuple[str, ...] = ()
    pip: Tuple[str, ...] = ()
    far_ood: bool = False
    test_fraction: float = 0.25
    val_fraction: float = 0.10


def pool_sources() -> List[PoolSource]:
    from . import clipart, emoji, fashion, glyphs, icons, photos, sprites

    return [m.SOURCE for m in (clipart, emoji, fashion, glyphs, icons, photos, sprites)]


def task_sources() -> List[TaskSource]:
    from . import animals, digits, textures, tuxpaint

    return [m.TASK for m in (animals, digits, tuxpaint, textures)]
