"""Numba Rice-coded gap stream (codec 0x12).  Same signatures and bytes as rice_ref."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status

TRUNCATED = status.TRUNCATED
BAD_FIELD = status.BAD_FIELD
OUT_OF_RANGE = status.OUT_OF_RANGE
NONZERO_PADDING = status.NONZERO_PADDING
TRAILING = status.TRAILING

__all__ = ["rice_encode", "rice_decode", "rice_best_parameter"]


@njit(cache=True, nogil=True)
def _rice_cost(gaps, start, end, r):
    cost = np.int64(0)
    for j in range(start, end):
        cost += gaps[j] >> r
    return cost + (end - start) * (r + 1)


@njit(cache=True, nogil=True)
def rice_best_parameter(gaps, start, end):
    # The smallest r in [0, 31] minimising cost(r) = sum(g >> r) + n (r + 1), as the reference finds by
    # trying all 32.  cost is convex in r: per gap, (g >> r) - (g >> (r + 1)) = ceil((g >> r) / 2) does
    # not grow with r, so the decrements cost(r) - cost(r + 1) do not grow either.  Hence: start near
    # log2 of the mean gap, walk downhill, and on a plateau keep walking left to its smallest r.
    n = end - start
    if n <= 0:
        return 0
    total = np.int64(0)
    for j in range(start, end):
        total += gaps[j]
    r = 0
    m = total // n
    while r < 31 and (m >> (r + 1)) > 0:
        r += 1
    c = _rice_cost(gaps, start, end, r)
    while r < 31:
        c1 = _rice_cost(gaps, start, end, r + 1)
        if c1 >= c:
            break
        r += 1
        c = c1
    while r > 0:
        c0 = _rice_cost(gaps, start, end, r - 1)
        if c0 > c:
            break
        r -= 1
        c = c0
    return r


@njit(cache=True, inline="always")
def _flush_bytes(out, pos, acc, have):
    """Move the whole bytes of the LSB-first accumulator ``acc`` (``have`` bits) to ``out[pos:]``."""
    while have >= 8:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
        acc >>= np.uint64(8)
        have -= 8
    return pos, acc, have


@njit(cache=True, nogil=True)
def rice_encode(indices, block, out):
    # bits go LSB-first into a 64-bit accumulator held in locals; whole bytes leave as soon as they exist
    k = indices.shape[0]
    gaps = np.empty(k, dtype=np.int64)
    prev = np.int64(-1)
    for j in range(k):
        gaps[j] = indices[j] - prev - 1
        prev = indices[j]
    pos = 0
    acc = np.uint64(0)
    have = 0
    s = 0
    while s < k:
        e = min(s + block, k)
        r = rice_best_parameter(gaps, s, e)
        acc |= np.uint64(r) << np.uint64(have)
        have += 5
        mask = (np.int64(1) << r) - 1
        for j in range(s, e):
            g = gaps[j]
            q = g >> r
            # q ones then a zero, then the r low bits
            while q >= 32:
                acc |= np.uint64(0xFFFFFFFF) << np.uint64(have)
                have += 32
                pos, acc, have = _flush_bytes(out, pos, acc, have)
                q -= 32
            acc |= np.uint64((np.int64(1) << q) - 1) << np.uint64(have)
            have += q + 1
            pos, acc, have = _flush_bytes(out, pos, acc, have)
            if r > 0:
                acc |= np.uint64(g & mask) << np.uint64(have)
                have += r
                pos, acc, have = _flush_bytes(out, pos, acc, have)
        s = e
    if have > 0:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def rice_decode(data, count, block, pool_size, out):
    n = data.shape[0]
    total = n * 8
    bitpos = 0
    cur = np.int64(-1)
    s = 0
    while s < count:
        e = min(s + block, count)
        if bitpos + 5 > total:
            return TRUNCATED
        r = 0
        for b in range(5):
            r |= np.int64((data[(bitpos + b) >> 3] >> ((bitpos + b) & 7)) & 1) << b
        bitpos += 5
        for j in range(s, e):
            q = np.int64(0)
            while True:
                if bitpos >= total:
                    return TRUNCATED
                bit = (data[bitpos >> 3] >> (bitpos & 7)) & 1
                bitpos += 1
                if bit == 0:
                    break
                q += 1
                if q >= (np.int64(1) << 32):
                    return BAD_FIELD
            if bitpos + r > total:
                return TRUNCATED
            low = np.int64(0)
            for b in range(r):
                low |= np.int64((data[(bitpos + b) >> 3] >> ((bitpos + b) & 7)) & 1) << b
            bitpos += r
            g = (q << r) | low
            if g >= (np.int64(1) << 32):
                return BAD_FIELD
            cur += g + 1
            if cur >= pool_size:
                return OUT_OF_RANGE
            out[j] = cur
        s = e
    used = (bitpos + 7) // 8
    b = bitpos
    while b < used * 8:
        if (data[b >> 3] >> (b & 7)) & 1:
            return NONZERO_PADDING
        b += 1
    if used != n:
        return TRAILING
    return used
