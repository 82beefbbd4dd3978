"""Numba fixed-width bit packing, LSB first.  Same signatures as bitpack_ref."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status

TRUNCATED = status.TRUNCATED
BAD_FIELD = status.BAD_FIELD
NONZERO_PADDING = status.NONZERO_PADDING

__all__ = ["pack_bits", "unpack_bits"]


@njit(cache=True, nogil=True)
def pack_bits(values, width, out):
    n = values.shape[0]
    if width == 0 or n == 0:
        return 0
    acc = np.uint64(0)
    nbits = 0
    pos = 0
    w = np.uint64(width)
    for j in range(n):
        v = np.uint64(values[j])
        acc |= v << np.uint64(nbits)
        nbits += width
        while nbits >= 8:
            out[pos] = np.uint8(acc & np.uint64(0xFF))
            pos += 1
            acc >>= np.uint64(8)
            nbits -= 8
        # acc now holds < 8 bits; v had at most 32 bits so nothing was lost above 64
    if nbits > 0:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def unpack_bits(data, start, count, width, out):
    if width > 32:
        return BAD_FIELD
    nbytes = (count * width + 7) // 8
    if start + nbytes > data.shape[0]:
        return TRUNCATED
    if width == 0 or count == 0:
        for j in range(count):
            out[j] = 0
        return start
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    acc = np.uint64(0)
    nbits = 0
    pos = start
    for j in range(count):
        while nbits < width:
            acc |= np.uint64(data[pos]) << np.uint64(nbits)
            pos += 1
            nbits += 8
        out[j] = acc & mask
        acc >>= np.uint64(width)
        nbits -= width
    if acc != 0:
        return NONZERO_PADDING
    return pos
