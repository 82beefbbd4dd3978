"""Noto Color Emoji (Debian ``fonts-noto-color-emoji``), grouped by ``unicode-data``'s emoji-test.txt:
every fully-qualified emoji rendered on white, and its silhouette white-on-black; folder = group-subgroup."""
from __future__ import annotations

import re

from PIL import Image, ImageDraw, ImageFont

from ..fetch import find_one
from ..imaging import fit, is_blank, silhouette
from . import PoolSource

FONT_PKG = "fonts-noto-color-emoji"
DATA_PKG = "unicode-data"


def parse_emoji_test(text: str):
    group = subgroup = "misc"
    for line in text.splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and "; fully-qualified" in line:
            codes = line.split(";", 1)[0].split()
            yield group, subgroup, "".join(chr(int(c, 16)) for c in codes)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def generate(pkgs):
    font_path = find_one(pkgs[FONT_PKG], "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", FONT_PKG)
    test = find_one(pkgs[DATA_PKG], "usr/share/unicode/emoji/emoji-test.txt", DATA_PKG)
    font = ImageFont.truetype(str(font_path), 109)
    for group, subgroup, s in parse_emoji_test(test.read_text(encoding="utf-8")):
        im = Image.new("RGBA", (160, 136), (0, 0, 0, 0))
        try:
            ImageDraw.Draw(im).text((0, 0), s, font=font, embedded_color=True)
        except (OSError, ValueError):
            continue
        if im.getchannel("A").getbbox() is None:
            continue
        cat = _slug(group) + "-" + _slug(subgroup)
        a = fit(im)
        if not is_blank(a):
            yield cat, a
            yield "shape_" + cat, silhouette(im)


SOURCE = PoolSource("emoji", "Noto Color Emoji 2.042 on white, plus their silhouettes", "OFL-1.1",
                    generate, approx=7300, apt=(FONT_PKG, DATA_PKG))
