"""Reference (numpy) keep-bitmap (codec 0x11): ceil(N/8) bytes, pool image i is bit i % 8 of byte i // 8;
padding bits past N are zero."""
from __future__ import annotations

import numpy as np

from . import status

__all__ = ["bitmap_encode", "bitmap_decode"]


def bitmap_encode(indices, pool_size, out):
    mask = np.zeros(pool_size, dtype=np.uint8)
    mask[indices] = 1
    packed = np.packbits(mask, bitorder="little")
    out[:packed.shape[0]] = packed
    return packed.shape[0]


def bitmap_decode(data, pool_size, count, out):
    nbytes = (pool_size + 7) // 8
    if data.shape[0] < nbytes:
        return status.TRUNCATED
    if data.shape[0] > nbytes:
        return status.TRAILING
    bits = np.unpackbits(data, bitorder="little")
    if bits[pool_size:].any():
        return status.NONZERO_PADDING
    found = np.flatnonzero(bits)
    if found.shape[0] != count:
        return status.COUNT
    out[:count] = found
    return nbytes
