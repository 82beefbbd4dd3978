"""Numba static order-0 rANS for labels (codec 0x21).  Same signatures and bytes as rans_ref."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status

TRUNCATED = status.TRUNCATED
BAD_FIELD = status.BAD_FIELD
TRAILING = status.TRAILING

SCALE = 16
RANS_L = np.uint64(1 << 23)

__all__ = ["rans_encode", "rans_decode"]


@njit(cache=True, nogil=True)
def rans_encode(labels, freq, cum, out):
    n = labels.shape[0]
    cap = out.shape[0]
    # write backwards from the end of `out`, then move to the front
    p = cap
    x = np.uint64(RANS_L)
    for j in range(n - 1, -1, -1):
        s = labels[j]
        f = np.uint64(freq[s])
        x_max = np.uint64((1 << 23 >> SCALE) << 8) * f
        while x >= x_max:
            p -= 1
            out[p] = np.uint8(x & np.uint64(0xFF))
            x >>= np.uint64(8)
        x = ((x // f) << np.uint64(SCALE)) + (x % f) + np.uint64(cum[s])
    for b in range(4):
        p -= 1
        out[p] = np.uint8((x >> np.uint64(8 * (3 - b))) & np.uint64(0xFF))
    length = cap - p
    for i in range(length):
        out[i] = out[p + i]
    return length


@njit(cache=True, nogil=True)
def rans_decode(data, count, freq, cum, lut, out):
    n = data.shape[0]
    if n < 4:
        return TRUNCATED
    x = (np.uint64(data[0]) | (np.uint64(data[1]) << np.uint64(8)) | (np.uint64(data[2]) << np.uint64(16))
         | (np.uint64(data[3]) << np.uint64(24)))
    pos = 4
    mask = np.uint64((1 << SCALE) - 1)
    for j in range(count):
        slot = x & mask
        s = lut[slot]
        x = np.uint64(freq[s]) * (x >> np.uint64(SCALE)) + slot - np.uint64(cum[s])
        while x < RANS_L:
            if pos >= n:
                return TRUNCATED
            x = (x << np.uint64(8)) | np.uint64(data[pos])
            pos += 1
        out[j] = s
    if x != RANS_L:
        return BAD_FIELD
    if pos != n:
        return TRAILING
    return pos
