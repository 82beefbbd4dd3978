"""Oxygen icon theme (Debian ``oxygen-icon-theme``): the 32x32 PNG icons, on white, folder = context."""
from __future__ import annotations

from PIL import Image

from ..fetch import find_one
from ..imaging import fit, is_blank
from . import PoolSource

PKG = "oxygen-icon-theme"


def generate(pkgs):
    root = find_one(pkgs[PKG], "usr/share/icons/oxygen/base/32x32", PKG)
    for p in sorted(root.rglob("*.png")):
        try:
            with Image.open(p) as im:
                im = im.convert("RGBA")
        except (OSError, ValueError):
            continue
        a = fit(im, margin=0)
        if not is_blank(a):
            yield p.parent.name, a


SOURCE = PoolSource("icon", "Oxygen 32x32 icons (KDE) on white", "LGPL-3", generate, approx=1500,
                    apt=(PKG,))
