"""Reference (plain Python) for the Rice-coded gap stream (codec 0x12, docs/FORMAT.md "rice-gaps").

One LSB-first bit stream.  Gaps as in packed-delta (g[0] = i[0], g[j] = i[j] - i[j-1] - 1), in blocks of
``block``; each block starts with a 5-bit Rice parameter r, then each gap as q = g >> r one-bits, a
zero bit, and the r low bits of g (LSB first).  Zero padding to a byte boundary.
"""
from __future__ import annotations

import numpy as np

from . import status

__all__ = ["rice_encode", "rice_decode", "rice_best_parameter"]


def rice_best_parameter(gaps, start, end):
    """The r in 0..31 minimising the block's coded size (ties: the smallest r)."""
    best_r, best_cost = 0, None
    for r in range(32):
        cost = sum((int(g) >> r) for g in gaps[start:end]) + (end - start) * (r + 1)
        if best_cost is None or cost < best_cost:
            best_r, best_cost = r, cost
    return best_r


def rice_encode(indices, block, out):
    k = indices.shape[0]
    gaps = [int(g) for g in (np.diff(indices.astype(np.int64), prepend=np.int64(-1)) - 1)]
    bits = []
    for s in range(0, k, block):
        e = min(s + block, k)
        r = rice_best_parameter(gaps, s, e)
        bits.extend((r >> b) & 1 for b in range(5))
        for g in gaps[s:e]:
            bits.extend([1] * (g >> r))
            bits.append(0)
            bits.extend((g >> b) & 1 for b in range(r))
    packed = np.packbits(np.array(bits, dtype=np.uint8), bitorder="little")
    out[:packed.shape[0]] = packed
    return packed.shape[0]


def rice_decode(data, count, block, pool_size, out):
    nbits_total = data.shape[0] * 8
    bits = np.unpackbits(data, bitorder="little")
    pos = 0
    cur = -1
    for s in range(0, count, block):
        e = min(s + block, count)
        if pos + 5 > nbits_total:
            return status.TRUNCATED
        r = sum(int(bits[pos + b]) << b for b in range(5))
        pos += 5
        for j in range(s, e):
            q = 0
            while True:
                if pos >= nbits_total:
                    return status.TRUNCATED
                bit = bits[pos]
                pos += 1
                if not bit:
                    break
                q += 1
                if q >= 2**32:  # as the Numba kernel: a run that long is corrupt before it is truncated
                    return status.BAD_FIELD
            if pos + r > nbits_total:
                return status.TRUNCATED
            low = sum(int(bits[pos + b]) << b for b in range(r))
            pos += r
            g = (q << r) | low
            if g >= 2**32:
                return status.BAD_FIELD
            cur += g + 1
            if cur >= pool_size:
                return status.OUT_OF_RANGE
            out[j] = cur
    used = (pos + 7) // 8
    if bits[pos:used * 8].any():
        return status.NONZERO_PADDING
    if used != data.shape[0]:
        return status.TRAILING
    return used
