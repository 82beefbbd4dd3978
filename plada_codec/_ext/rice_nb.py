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
def rice_best_parameter(gaps, start, end):
    best_r = 0
    best_cost = np.int64(-1)
    for r in range(32):
        cost = np.int64(0)
        for j in range(start, end):
            cost += gaps[j] >> r
        cost += (end - start) * (r + 1)
        if best_cost < 0 or cost < best_cost:
            best_r = r
            best_cost = cost
    return best_r


@njit(cache=True, nogil=True)
def _put(out, state, value, nbits):
    # state = [pos, acc, nbits]; value < 2**nbits, nbits <= 32
    acc = np.uint64(state[1]) | (np.uint64(value) << np.uint64(state[2]))
    have = state[2] + nbits
    pos = state[0]
    while have >= 8:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
        acc >>= np.uint64(8)
        have -= 8
    state[0] = pos
    state[1] = np.int64(acc)
    state[2] = have


@njit(cache=True, nogil=True)
def rice_encode(indices, block, out):
    k = indices.shape[0]
    gaps = np.empty(k, dtype=np.int64)
    prev = np.int64(-1)
    for j in range(k):
        gaps[j] = indices[j] - prev - 1
        prev = indices[j]
    state = np.zeros(3, dtype=np.int64)
    s = 0
    while s < k:
        e = min(s + block, k)
        r = rice_best_parameter(gaps, s, e)
        _put(out, state, r, 5)
        for j in range(s, e):
            g = gaps[j]
            q = g >> r
            while q >= 32:
                _put(out, state, 0xFFFFFFFF, 32)
                q -= 32
            # q ones then a zero: the value (2**q - 1) in q + 1 bits
            _put(out, state, (np.int64(1) << q) - 1, q + 1)
            if r > 0:
                _put(out, state, g & ((np.int64(1) << r) - 1), r)
        s = e
    pos = state[0]
    if state[2] > 0:
        out[pos] = np.uint8(state[1] & 0xFF)
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
