"""Numba packed-delta index stream (codec 0x10).  Same signatures and bytes as delta_for_ref."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status

TRUNCATED = status.TRUNCATED
BAD_FIELD = status.BAD_FIELD
OUT_OF_RANGE = status.OUT_OF_RANGE
NONZERO_PADDING = status.NONZERO_PADDING
TRAILING = status.TRAILING

__all__ = ["delta_for_encode", "delta_for_decode"]


@njit(cache=True, nogil=True)
def delta_for_encode(indices, block, out):
    k = indices.shape[0]
    pos = 0
    prev = np.int64(-1)
    s = 0
    while s < k:
        e = min(s + block, k)
        # block min / max of gaps
        lo = np.int64(1) << 40
        hi = np.int64(0)
        p = prev
        for j in range(s, e):
            g = indices[j] - p - 1
            p = indices[j]
            if g < lo:
                lo = g
            if g > hi:
                hi = g
        span = hi - lo
        width = 0
        while span > 0:
            width += 1
            span >>= 1
        out[pos] = width
        pos += 1
        ref = lo
        while True:
            byte = ref & 0x7F
            ref >>= 7
            if ref:
                out[pos] = byte | 0x80
                pos += 1
            else:
                out[pos] = byte
                pos += 1
                break
        acc = np.uint64(0)
        nbits = 0
        for j in range(s, e):
            v = np.uint64(indices[j] - prev - 1 - lo)
            prev = indices[j]
            acc |= v << np.uint64(nbits)
            nbits += width
            while nbits >= 8:
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                pos += 1
                acc >>= np.uint64(8)
                nbits -= 8
        if nbits > 0:
            out[pos] = np.uint8(acc & np.uint64(0xFF))
            pos += 1
        s = e
    return pos


@njit(cache=True, nogil=True)
def delta_for_decode(data, count, block, pool_size, out):
    n = data.shape[0]
    pos = 0
    cur = np.int64(-1)
    s = 0
    while s < count:
        e = min(s + block, count)
        if pos >= n:
            return TRUNCATED
        width = np.int64(data[pos])
        pos += 1
        if width > 32:
            return BAD_FIELD
        ref = np.int64(0)
        shift = 0
        while True:
            if pos >= n:
                return TRUNCATED
            byte = np.int64(data[pos])
            pos += 1
            ref |= (byte & 0x7F) << shift
            shift += 7
            if (byte & 0x80) == 0:
                if shift > 7 and byte == 0:
                    return BAD_FIELD  # not minimally encoded
                break
            if shift >= 35:
                return BAD_FIELD
        if ref >= (np.int64(1) << 32):
            return BAD_FIELD
        nbytes = ((e - s) * width + 7) // 8
        if pos + nbytes > n:
            return TRUNCATED
        step = ref + 1
        if width == 0:
            for j in range(s, e):
                cur += step
                out[j] = cur
        else:
            mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
            acc = np.uint64(0)
            nbits = 0
            for j in range(s, e):
                if nbits < width:
                    # refill: read whole bytes until at least `width` bits are buffered
                    while nbits <= 56 and pos < n:
                        acc |= np.uint64(data[pos]) << np.uint64(nbits)
                        pos += 1
                        nbits += 8
                cur += np.int64(acc & mask) + step
                acc >>= np.uint64(width)
                nbits -= width
                out[j] = cur
            # give back whole bytes that were buffered beyond this block's bit count
            extra = nbits // 8
            pos -= extra
            nbits -= extra * 8
            if (acc & ((np.uint64(1) << np.uint64(nbits)) - np.uint64(1))) != 0:
                return NONZERO_PADDING
        if cur >= pool_size:
            return OUT_OF_RANGE
        s = e
    if pos != n:
        return TRAILING
    return pos
