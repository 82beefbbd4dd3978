"""Reference (plain Python) implementation of codec 0x0013 "geometric-gaps": same names, signatures and
bytes as :mod:`plada_codec._ext.geometric_nb`, written from docs/FORMAT.md §6.4b as small functions (the
model tables, the level of a gap, an rANS encoder and decoder) rather than as one fused loop.  Slow: for
tests and for platforms without a compiler.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from . import status

TRUNCATED = status.TRUNCATED
OUT_OF_RANGE = status.OUT_OF_RANGE
TRAILING = status.TRAILING
BAD_FIELD = status.BAD_FIELD
OVERFLOW = status.OVERFLOW

__all__ = ["geometric_tables", "geometric_encode", "geometric_decode"]

SCALE = 16
RANS_L = 1 << 23
ESC = 63
NSYM = 64
QCAP = 12
SUB = 8
NTAB = QCAP * SUB
LOWBITS = 4


def geometric_tables(freq, cum, lut):
    """The 96 tables (docs/FORMAT.md §6.4b), all at once with numpy integer arrays (exact: every product
    is below 2**62); fast enough for a cold process, which computes them once."""
    q = np.repeat(np.arange(1, QCAP + 1, dtype=np.int64), SUB)       # table t = (q - 1) * 8 + f
    f = np.tile(np.arange(SUB, dtype=np.int64), QCAP)
    s = np.maximum(0, q - LOWBITS)
    a = (1 << 31) - ((1 << 35) // ((17 + 2 * f) << (q - 1)))      # 1 - 1/mu in 2**-31 units
    for i in range(int(s.max())):
        a = np.where(i < s, (a * a) >> 31, a)                       # theta = (1 - 1/mu) ** (2**s)
    fr = np.empty((NTAB, NSYM), np.int64)
    t = np.full(NTAB, 1 << 31, np.int64)                            # theta ** j
    for j in range(ESC):
        t2 = (t * a) >> 31
        fr[:, j] = np.maximum(1, (t - t2) >> 15)                    # P(v == j)
        t = t2
    fr[:, ESC] = np.maximum(1, t >> 15)                             # the escape: P(v >= 63)
    fr[:, 0] += (1 << SCALE) - fr.sum(axis=1)                       # symbol 0 takes the rounding
    c = np.zeros((NTAB, NSYM + 1), np.int64)
    np.cumsum(fr, axis=1, out=c[:, 1:])
    starts = np.arange(256, dtype=np.int64) << 8
    lu = np.stack([np.searchsorted(row, starts, side="right") - 1 for row in c])
    freq[:] = fr.ravel()
    cum[:] = c.ravel()
    lut[:] = lu.ravel()
    return 0


def level(rp: int, rk: int) -> Tuple[int, int]:
    """(table, raw low bits s) of the next gap, 1 <= rk < rp: the mean gap rp / rk lies in octave
    q = bit_length(rp // rk) and in its eighth f (the largest f with 8 rp >= (8 + f) rk 2**(q-1))."""
    q = (rp // rk).bit_length()
    f = max(j for j in range(SUB) if 8 * rp >= (8 + j) * rk * (1 << (q - 1)))
    return (min(q, QCAP) - 1) * SUB + f, max(0, q - LOWBITS)


def _chunks(s: int) -> List[int]:
    """Widths of the raw chunks of s bits, top first: the odd width first, then 16s."""
    if s == 0:
        return []
    m = (s + 15) // 16
    return [s - 16 * (m - 1)] + [16] * (m - 1)


def _gap_symbols(u: int, tab: int, s: int, freq, cum):
    """(start, freq) rANS steps of one gap in decoding order: escapes, the symbol, the raw chunks."""
    v, w = (u - 1) >> s, (u - 1) & ((1 << s) - 1)
    steps = []
    for _ in range(v // ESC):
        steps.append((cum[tab * (NSYM + 1) + ESC], freq[tab * NSYM + ESC]))
    sym = v % ESC
    steps.append((cum[tab * (NSYM + 1) + sym], freq[tab * NSYM + sym]))
    left = s
    for c in _chunks(s):
        left -= c
        chunk = (w >> left) & ((1 << c) - 1)
        steps.append((chunk << (SCALE - c), 1 << (SCALE - c)))
    return steps


def geometric_encode(idx, pool_size, freq, cum, out):
    k = len(idx)
    if k == 0:
        return 0
    freq, cum = [int(v) for v in freq], [int(v) for v in cum]
    idx = [int(i) for i in idx]
    n = int(pool_size)
    j = k - 1
    while j >= 0 and idx[j] == n - k + j:  # the kept run that ends the pool...
        j -= 1
    last = min(j + 1, k - 1) if n != k else -1  # ...is forced (rk == rp) after its first index
    steps = []
    prev = -1
    for t in range(last + 1):
        tab, s = level(n - 1 - prev, k - t)
        steps.extend(_gap_symbols(idx[t] - prev, tab, s, freq, cum))
        prev = idx[t]
    x = RANS_L
    emitted = []  # bytes in the order the encoder emits them (the stream holds them reversed)
    for start, f in reversed(steps):
        while x >= (RANS_L >> SCALE << 8) * f:
            emitted.append(x & 0xFF)
            x >>= 8
        x = ((x // f) << SCALE) + x % f + start
    data = list(x.to_bytes(4, "little")) + emitted[::-1]
    if len(data) > len(out):
        return OVERFLOW
    out[:len(data)] = data
    return len(data)


class _Decoder:
    def __init__(self, data):
        self.data = data
        self.x = int.from_bytes(bytes(data[:4]), "little")
        self.pos = 4

    def step(self, cum_of_slot):
        """One rANS step: ``cum_of_slot(slot)`` -> (symbol, start, freq)."""
        slot = self.x & 0xFFFF
        sym, start, f = cum_of_slot(slot)
        self.x = f * (self.x >> SCALE) + slot - start
        while self.x < RANS_L:
            if self.pos >= len(self.data):
                raise _Truncated
            self.x = (self.x << 8) | int(self.data[self.pos])
            self.pos += 1
        return sym


class _Truncated(Exception):
    pass


def geometric_decode(data, pool_size, freq, cum, lut, out):
    k = len(out)
    if k == 0:
        return 0 if len(data) == 0 else TRAILING
    if len(data) < 4:
        return TRUNCATED
    freq, cum = [int(v) for v in freq], [int(v) for v in cum]  # (lut: a speed-up this reference skips)
    dec = _Decoder(data)
    n = int(pool_size)
    prev = -1
    try:
        for t in range(k):
            rp, rk = n - 1 - prev, k - t
            if rk == rp:
                out[t:] = np.arange(prev + 1, prev + 1 + rk)
                break
            if rk > rp:
                return OUT_OF_RANGE
            umax = rp - rk + 1
            tab, s = level(rp, rk)

            def symbol(slot, tab=tab):
                c = cum[tab * (NSYM + 1):(tab + 1) * (NSYM + 1)]
                j = max(i for i in range(NSYM) if c[i] <= slot)
                return j, c[j], freq[tab * NSYM + j]

            base = 0
            while True:
                sym = dec.step(symbol)
                if sym < ESC:
                    break
                base += ESC
                if (base << s) >= umax:
                    return OUT_OF_RANGE
            w = 0
            for c in _chunks(s):
                sh = SCALE - c
                w = (w << c) | dec.step(lambda slot, sh=sh: (slot >> sh, (slot >> sh) << sh, 1 << sh))
            u = ((base + sym) << s) + w + 1
            if u > umax:
                return OUT_OF_RANGE
            prev += u
            out[t] = prev
    except _Truncated:
        return TRUNCATED
    if dec.x != RANS_L:
        return BAD_FIELD
    if dec.pos != len(data):
        return TRAILING
    return 0
