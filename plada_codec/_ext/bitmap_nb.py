"""Numba keep-bitmap (codec 0x11).  Same signatures and bytes as bitmap_ref."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status

TRUNCATED = status.TRUNCATED
TRAILING = status.TRAILING
NONZERO_PADDING = status.NONZERO_PADDING
COUNT = status.COUNT

__all__ = ["bitmap_encode", "bitmap_decode"]


@njit(cache=True, nogil=True)
def bitmap_encode(indices, pool_size, out):
    nbytes = (pool_size + 7) // 8
    for j in range(indices.shape[0]):
        i = indices[j]
        out[i >> 3] |= np.uint8(1 << (i & 7))
    return nbytes


@njit(cache=True, nogil=True)
def bitmap_decode(data, pool_size, count, out):
    nbytes = (pool_size + 7) // 8
    if data.shape[0] < nbytes:
        return TRUNCATED
    if data.shape[0] > nbytes:
        return TRAILING
    tail = pool_size & 7
    if tail and (data[nbytes - 1] >> tail) != 0:
        return NONZERO_PADDING
    found = 0
    for byte_index in range(nbytes):
        v = data[byte_index]
        if v == 0:
            continue
        base = byte_index * 8
        for b in range(8):
            if (v >> b) & 1:
                if found >= count:
                    return COUNT
                out[found] = base + b
                found += 1
    if found != count:
        return COUNT
    return nbytes
