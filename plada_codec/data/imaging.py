"""Small image helpers shared by the sources: every benchmark image is a 32x32 8-bit RGB array.

Why 32 px: the whole benchmark (teacher, pool scoring, ~40 students) must train on two CPU cores in
minutes; most sources are natively 20-32 px (Fashion-MNIST, animal-mnist, MNIST and OpenCV digits 28/20 px,
Crawl tiles and Oxygen icons 32 px), so 32 px loses little, while 64 px would cost 4x at every step.
"""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

SIZE = 32


def fit(im: Image.Image, background=(255, 255, 255), size: int = SIZE, margin: int = 1) -> np.ndarray:
    """Scale ``im`` (any mode; alpha respected) to fit a ``size`` square, centred on ``background``."""
    im = im.convert("RGBA")
    bbox = im.getchannel("A").getbbox()
    if bbox:
        im = im.crop(bbox)
    inner = size - 2 * margin
    w, h = im.size
    s = inner / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    im = im.resize((nw, nh), Image.LANCZOS, reducing_gap=2.0)
    canvas = Image.new("RGBA", (size, size), tuple(background) + (255,))
    canvas.alpha_composite(im, ((size - nw) // 2, (size - nh) // 2))
    return np.asarray(canvas.convert("RGB"))


def silhouette(im: Image.Image, size: int = SIZE, margin: int = 1) -> np.ndarray:
    """The alpha mask of ``im`` as a white-on-black shape, fitted like :func:`fit`."""
    im = im.convert("RGBA")
    a = im.getchannel("A")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    white.putalpha(a)
    return fit(white, background=(0, 0, 0), size=size, margin=margin)


def gray_to_rgb(a: np.ndarray, size: int = SIZE) -> np.ndarray:
    """A 2-D uint8 array (e.g. 28x28 MNIST-style) resized to ``size`` and replicated to RGB."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.uint8), "L")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR)
    return np.asarray(im.convert("RGB"))


def pixel_hash(a: np.ndarray) -> str:
    """Content hash of a 32x32 RGB image: equal pixels, equal hash (PNG is lossless, so it survives saving)."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return hashlib.sha1(a.tobytes() + repr(a.shape).encode()).hexdigest()


def save_png(a: np.ndarray, path) -> None:
    Image.fromarray(np.ascontiguousarray(a, dtype=np.uint8), "RGB").save(path, compress_level=6)


def is_blank(a: np.ndarray, min_std: float = 4.0) -> bool:
    """True for (nearly) uniform images: nothing to learn from them."""
    return float(a.std()) < min_std
