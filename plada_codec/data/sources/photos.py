"""Natural-photo crops: the photos of MATE's wallpapers (Debian ``mate-backgrounds``) and OpenCV's sample
images (Debian ``opencv-doc``), random square crops of 8-60 % of the short side, resized to 32 px;
folder = photo."""
from __future__ import annotations

import re

import numpy as np
from PIL import Image

from ..fetch import find_one
from ..imaging import SIZE, is_blank
from . import PoolSource

MATE = "mate-backgrounds"
OPENCV = "opencv-doc"
TOTAL = 12000
MAX_PHOTOS = 120


def _photos(pkgs):
    mate = find_one(pkgs[MATE], "usr/share/backgrounds/mate", MATE)
    files = sorted((mate / "nature").glob("*.jpg")) + [mate / "abstract" / "Elephants.jpg"]
    ocv = find_one(pkgs[OPENCV], "usr/share/doc/opencv-doc/examples", OPENCV)
    files += sorted(p for p in ocv.rglob("*.jpg") if "digit" not in p.name.lower())
    return [p for p in files if p.exists()]


def generate(pkgs):
    rng = np.random.default_rng(20260223)
    files = _photos(pkgs)
    usable = []
    for p in files:
        try:
            with Image.open(p) as im:
                if min(im.size) >= 200:
                    usable.append(p)
        except OSError:
            continue
    usable = usable[:MAX_PHOTOS]
    per = TOTAL // max(1, len(usable))
    for p in usable:
        with Image.open(p) as im:
            im.draft("RGB", (1024, 1024))
            im = im.convert("RGB")
        w, h = im.size
        cat = re.sub(r"[^a-z0-9]+", "_", p.stem.lower()).strip("_")
        for _ in range(per):
            side = int(min(w, h) * rng.uniform(0.08, 0.6))
            x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            a = np.asarray(im.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.BILINEAR,
                                                                        reducing_gap=2.0))
            if not is_blank(a):
                yield cat, a


SOURCE = PoolSource("photo", "random crops of MATE wallpaper photos and OpenCV sample photos",
                    "GPL-2 / BSD / CC", generate, approx=TOTAL, apt=(MATE, OPENCV))
