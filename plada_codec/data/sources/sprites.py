"""Dungeon Crawl Stone Soup tiles (Debian ``crawl-tiles-data``): 32x32 cells cut from its sprite sheets,
on black, empty and repeated cells dropped; folder = sheet."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..fetch import find_one
from ..imaging import is_blank, pixel_hash
from . import PoolSource

PKG = "crawl-tiles-data"
SHEETS = ("main", "player", "feat", "floor", "wall", "icons", "gui")


def generate(pkgs):
    root = find_one(pkgs[PKG], "usr/share/crawl/dat/tiles", PKG)
    seen = set()
    for sheet in SHEETS:
        p = root / f"{sheet}.png"
        if not p.exists():
            continue
        with Image.open(p) as im:
            a = np.asarray(im.convert("RGBA"))
        h, w = a.shape[0] // 32 * 32, a.shape[1] // 32 * 32
        for y in range(0, h, 32):
            for x in range(0, w, 32):
                cell = a[y:y + 32, x:x + 32]
                alpha = cell[..., 3:4].astype(np.float32) / 255.0
                if alpha.mean() < 0.08:
                    continue
                rgb = (cell[..., :3].astype(np.float32) * alpha).round().astype(np.uint8)
                if is_blank(rgb):
                    continue
                h_ = pixel_hash(rgb)
                if h_ in seen:
                    continue
                seen.add(h_)
                yield sheet, rgb


SOURCE = PoolSource("sprite", "Dungeon Crawl Stone Soup 0.28 tiles on black", "CC0 / GPL-2",
                    generate, approx=5200, apt=(PKG,))
