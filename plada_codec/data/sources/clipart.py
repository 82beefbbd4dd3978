"""Open Clip Art Library (Debian ``openclipart-png``): every image on white, and its alpha mask as a
white-on-black silhouette (the shapes beside the clip art, as a wide pool would hold both)."""
from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from ..fetch import find_one
from ..imaging import fit, is_blank, silhouette
from . import PoolSource

PKG = "openclipart-png"
MAX_PIXELS = 6_000_000  # a few posters are 100-170 Mpx; decoding one costs seconds and adds nothing at 32 px


def _category(rel: Path) -> str:
    parts = rel.parent.parts[:2]
    return "_".join(parts) if parts else "misc"


def generate(pkgs):
    root = find_one(pkgs[PKG], "usr/share/openclipart/png", PKG)
    files = sorted(p for p in root.rglob("*.png"))
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # huge posters are skipped unread below
    for p in files:
        try:
            with Image.open(p) as im:
                if im.size[0] * im.size[1] > MAX_PIXELS:
                    continue
                im = im.convert("RGBA")
            if max(im.size) > 256:  # one cheap reduction; fit() then works on a small image
                im.thumbnail((128, 128), Image.BOX, reducing_gap=None)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        cat = _category(p.relative_to(root))
        a = fit(im)
        if not is_blank(a):
            yield cat, a
        s = silhouette(im)
        if not is_blank(s):
            yield "shape_" + cat, s


SOURCE = PoolSource("clipart", "Open Clip Art Library 0.18 PNGs on white, plus their silhouettes",
                    "public domain", generate, approx=16000, apt=(PKG,))
