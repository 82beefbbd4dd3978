"""Printed glyphs: digits and Latin letters rendered from the typefaces of many Debian font packages, with
random size, offset, rotation and stroke weight; white on black or black on white.  Folder = character.

Printed digits sit in the pool beside where handwritten digits would be, as ImageNet's bird synsets sit
beside a bird task: a relevant, but not identical, neighbourhood.
"""
from __future__ import annotations

import string

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..imaging import SIZE
from . import PoolSource

FONT_PACKAGES = (
    "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation", "fonts-liberation2", "fonts-urw-base35",
    "fonts-freefont-ttf", "fonts-linuxlibertine", "fonts-crosextra-caladea", "fonts-crosextra-carlito",
    "fonts-cantarell", "fonts-roboto-unhinted", "fonts-open-sans", "fonts-lato", "fonts-texgyre",
    "fonts-hack", "fonts-inconsolata", "fonts-comic-neue", "fonts-humor-sans", "fonts-breip",
    "fonts-ecolier-court", "fonts-sil-andika", "fonts-ebgaramond", "fonts-junicode", "fonts-cabin",
    "fonts-isabella", "fonts-femkeklaver", "fonts-yanone-kaffeesatz", "fonts-staypuft", "fonts-dustin",
    "fonts-oldstandard", "fonts-firacode", "fonts-jura", "fonts-anonymous-pro", "fonts-lobster",
    "fonts-leckerli-one", "fonts-rufscript", "fonts-sil-charis", "fonts-quicksand", "fonts-fantasque-sans",
    "fonts-noto-mono", "fonts-beteckna", "fonts-tomsontalks", "fonts-kristi", "fonts-goudybookletter",
    "fonts-blankenburg", "fonts-league-spartan", "fonts-courier-prime", "fonts-dancingscript",
    "fonts-adf-accanthis", "fonts-adf-gillius", "fonts-adf-universalis", "fonts-oflb-euterpe",
    "fonts-vollkorn", "fonts-cardo", "fonts-bebas-neue", "fonts-jetbrains-mono", "fonts-karla", "fonts-play",
    "fonts-averia-gwf", "fonts-averia-sans-gwf", "fonts-averia-serif-gwf", "fonts-kaushanscript",
    "fonts-cmu", "fonts-stix",
)
FACES_PER_PACKAGE = 10
DIGIT_VARIANTS = 4
CHARS = [("digit_" + c, c, DIGIT_VARIANTS) for c in string.digits] + \
        [("upper_" + c, c, 1) for c in string.ascii_uppercase] + \
        [("lower_" + c, c, 1) for c in string.ascii_lowercase]
RENDER = 64


def _mask(font, ch: str, stroke: int = 0) -> Image.Image:
    im = Image.new("L", (RENDER * 2, RENDER * 2), 0)
    ImageDraw.Draw(im).text((RENDER // 2, RENDER // 4), ch, font=font, fill=255, stroke_width=stroke,
                            stroke_fill=255)
    return im


def font_files(pkgs):
    """Up to FACES_PER_PACKAGE .ttf/.otf faces per package, spread over its sorted list."""
    out = []
    for name in FONT_PACKAGES:
        root = pkgs.get(name)
        if root is None:
            continue
        faces = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf") and p.is_file())
        if len(faces) > FACES_PER_PACKAGE:
            pick = np.linspace(0, len(faces) - 1, FACES_PER_PACKAGE).round().astype(int)
            faces = [faces[i] for i in sorted(set(pick))]
        out += faces
    return out


def _usable(font) -> bool:
    """False when the face lacks Latin digits/letters (they would render as the .notdef box or nothing)."""
    try:
        ref = _mask(font, "\U0010fffd").tobytes()
        for ch in "0A8a":
            m = _mask(font, ch)
            if m.getbbox() is None or m.tobytes() == ref:
                return False
    except (OSError, ValueError):
        return False
    return True


def render(font, ch: str, rng) -> np.ndarray:
    stroke = int(rng.integers(0, 3))
    m = _mask(font, ch, stroke)
    m = m.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
    box = m.getbbox()
    m = m.crop(box)
    w, h = m.size
    target = float(rng.uniform(18, 28))
    s = min(target / h, (SIZE - 2) / w)
    m = m.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    canvas = Image.new("L", (SIZE, SIZE), 0)
    dx = (SIZE - m.size[0]) // 2 + int(rng.integers(-2, 3))
    dy = (SIZE - m.size[1]) // 2 + int(rng.integers(-2, 3))
    canvas.paste(m, (min(max(dx, 0), SIZE - m.size[0]), min(max(dy, 0), SIZE - m.size[1])))
    a = np.asarray(canvas)
    if rng.random() < 0.3:
        a = 255 - a
    return np.repeat(a[:, :, None], 3, axis=2)


def generate(pkgs):
    rng = np.random.default_rng(20260223)
    for path in font_files(pkgs):
        try:
            font = ImageFont.truetype(str(path), 48)
        except (OSError, ValueError):
            continue
        if not _usable(font):
            continue
        for folder, ch, variants in CHARS:
            for _ in range(variants):
                try:
                    yield folder, render(font, ch, rng)
                except (OSError, ValueError):
                    break


SOURCE = PoolSource("glyph", "digits and letters rendered from the typefaces of ~60 Debian font packages",
                    "OFL / GPL / LGPL / public domain", generate, approx=30000, apt=FONT_PACKAGES)
