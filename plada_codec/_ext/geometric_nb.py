"""Numba kernels of codec 0x0013 "geometric-gaps" (docs/FORMAT.md §6.4b).

Same names, signatures and output bytes as :mod:`plada_codec._ext.geometric_ref`.  Encoders return the
byte count written to ``out`` (or ``OVERFLOW``); decoders return 0 or a negative status
(:mod:`plada_codec._ext.status`).  Nothing raises.

The gaps of a subset without structure are coded with the geometric distribution whose mean is the exact
mean gap still to come (``rp`` pool positions left, ``rk`` indices left), quantised to 8 levels per
octave: a static model (nothing learnt, nothing shipped), so each gap costs one rANS symbol step from a
256-entry lookup table, plus its low bits taken raw.  rANS as in ``rans-labels``: 16-bit probabilities,
state in [2**23, 2**31), byte-wise renormalisation, the encoder runs last to first.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import status
from .adaptive_nb import _bitlen

TRUNCATED = status.TRUNCATED
OUT_OF_RANGE = status.OUT_OF_RANGE
TRAILING = status.TRAILING
BAD_FIELD = status.BAD_FIELD
OVERFLOW = status.OVERFLOW

__all__ = ["geometric_tables", "geometric_encode", "geometric_decode"]

SCALE = 16
RANS_L = 1 << 23
ESC = 63            # symbols 0..62: v mod 63 ends here; 63: "63 more" (escape), the geometric tail again
NSYM = 64
QCAP = 12           # tables for q = 1..12 (8 levels each); q > 12 uses q = 12's with a larger shift
SUB = 8             # levels per octave
NTAB = QCAP * SUB
LOWBITS = 4         # s = max(0, q - LOWBITS) raw low bits: the coded part v has a mean of about 8..16


@njit(cache=True, nogil=True)
def geometric_tables(freq, cum, lut):
    """Fill the NTAB static tables: ``freq`` (NTAB * 64), ``cum`` (NTAB * 65) and ``lut`` (NTAB * 256,
    the symbol holding slot ``256 * i``).  Computed once per process by the codec (they are constants),
    then passed to the encoder and decoder.  Table ``(q - 1) * 8 + f`` models a mean gap of
    ``mu = (17 + 2 f) * 2**(q - 1) / 16``; returns 0."""
    for tq in range(QCAP):
        q = tq + 1
        s = q - LOWBITS if q > LOWBITS else 0
        for f in range(SUB):
            tab = tq * SUB + f
            # a = 1 - 1 / mu in 2**-31 units, then theta = a ** (2 ** s): the chance that v >= 1
            a = (1 << 31) - ((1 << 35) // ((17 + 2 * f) << (q - 1)))
            for _ in range(s):
                a = (a * a) >> 31
            t = 1 << 31
            total = 0
            for j in range(ESC):
                t2 = (t * a) >> 31
                fj = (t - t2) >> 15
                if fj < 1:
                    fj = 1
                freq[tab * NSYM + j] = fj
                total += fj
                t = t2
            fj = t >> 15  # the escape: P(v >= 63) = theta ** 63
            if fj < 1:
                fj = 1
            freq[tab * NSYM + ESC] = fj
            total += fj
            freq[tab * NSYM] += (1 << SCALE) - total  # symbol 0, the most probable, takes the rounding
            c = 0
            for j in range(NSYM):
                cum[tab * (NSYM + 1) + j] = c
                c += freq[tab * NSYM + j]
            cum[tab * (NSYM + 1) + NSYM] = c
            j = 0
            for b in range(256):
                while cum[tab * (NSYM + 1) + j + 1] <= b << 8:
                    j += 1
                lut[tab * 256 + b] = j
    return 0


@njit(cache=True, inline="always")
def _level(rp, rk):
    """(table, s) for the next gap: q = bitlen(rp // rk) (the octave of the mean gap), f in [0, 8) its
    eighth within the octave, s = max(0, q - 4) low bits sent raw.  Needs 1 <= rk < rp < 2**32."""
    d = _bitlen(rp) - _bitlen(rk)
    q = d + 1 if rp >= (rk << d) else d
    f = 0
    r8 = rp << 3
    for j in (4, 2, 1):  # binary search: the largest f with 8 rp >= (8 + f) rk 2**(q - 1)
        if r8 >= ((rk * (8 + f + j)) << (q - 1)):
            f += j
    s = q - LOWBITS if q > LOWBITS else 0
    tq = q if q < QCAP else QCAP
    return (tq - 1) * SUB + f, s


@njit(cache=True, inline="always")
def _renorm_out(x, fr, p, out):
    """Before a step of frequency ``fr``: emit the low bytes of ``x`` (backwards from ``p``) until
    ``x < 2**15 fr``; returns (x, p), p = -1 when ``out`` is full."""
    xmax = (RANS_L >> SCALE << 8) * fr
    while x >= xmax:
        p -= 1
        if p < 0:
            return x, -1
        out[p] = x & 0xFF
        x >>= 8
    return x, p


@njit(cache=True, nogil=True)
def geometric_encode(idx, pool_size, freq, cum, out):
    """Code sorted unique ``idx`` (int64, in [0, pool_size)) into ``out`` with the tables of
    :func:`geometric_tables`; returns the byte count."""
    k = idx.shape[0]
    if k == 0:
        return 0
    # the forced tail: once rk == rp (the previous index is pool_size - k + t - 1) every position left is
    # kept and nothing more is coded; gaps 0 .. last are coded
    j = k - 1
    while j >= 0 and idx[j] == pool_size - k + j:
        j -= 1
    last = min(j + 1, k - 1) if pool_size != k else -1
    p = out.shape[0]
    x = RANS_L
    for t in range(last, -1, -1):
        prev = idx[t - 1] if t > 0 else -1
        u = idx[t] - prev
        rp = pool_size - 1 - prev
        rk = k - t
        tab, s = _level(rp, rk)
        # raw low bits in chunks of <= 16 from the top (the first chunk holds the odd width); the
        # decoder reads them top chunk first, so they are pushed bottom chunk first
        w = (u - 1) & ((1 << s) - 1)
        m = (s + 15) >> 4
        for ci in range(m - 1, -1, -1):
            c = (s - 16 * (m - 1)) if ci == 0 else 16
            shift = 16 * (m - 1 - ci)
            ww = (w >> shift) & ((1 << c) - 1)
            fr = 1 << (SCALE - c)
            x, p = _renorm_out(x, fr, p, out)
            if p < 0:
                return OVERFLOW
            x = ((x >> (SCALE - c)) << SCALE) + (x & (fr - 1)) + (ww << (SCALE - c))
        v = (u - 1) >> s
        nesc = v // ESC
        sym = v - nesc * ESC
        for e in range(nesc + 1):
            fr = freq[tab * NSYM + sym]
            x, p = _renorm_out(x, fr, p, out)
            if p < 0:
                return OVERFLOW
            x = ((x // fr) << SCALE) + (x % fr) + cum[tab * (NSYM + 1) + sym]
            sym = ESC
    if p < 4:
        return OVERFLOW
    for b in range(4):
        p -= 1
        out[p] = (x >> (8 * (3 - b))) & 0xFF
    n = out.shape[0] - p
    for i in range(n):
        out[i] = out[p + i]
    return n


@njit(cache=True, nogil=True)
def geometric_decode(data, pool_size, freq, cum, lut, out):
    """Decode ``out.shape[0]`` indices from ``data`` with the tables of :func:`geometric_tables`;
    returns 0 or a status."""
    k = out.shape[0]
    n = data.shape[0]
    if k == 0:
        return 0 if n == 0 else TRAILING
    if n < 4:
        return TRUNCATED
    x = np.int64(data[0]) | (np.int64(data[1]) << 8) | (np.int64(data[2]) << 16) | (np.int64(data[3]) << 24)
    pos = 4
    prev = -1
    for t in range(k):
        rp = pool_size - 1 - prev
        rk = k - t
        if rk == rp:
            for i in range(rk):
                out[t + i] = prev + 1 + i
            break
        if rk > rp:
            return OUT_OF_RANGE
        umax = rp - rk + 1
        tab, s = _level(rp, rk)
        base = 0
        while True:
            slot = x & 0xFFFF
            sym = lut[tab * 256 + (slot >> 8)]
            cb = tab * (NSYM + 1)
            while cum[cb + sym + 1] <= slot:
                sym += 1
            x = freq[tab * NSYM + sym] * (x >> SCALE) + slot - cum[cb + sym]
            while x < RANS_L:
                if pos >= n:
                    return TRUNCATED
                x = (x << 8) | np.int64(data[pos])
                pos += 1
            if sym < ESC:
                break
            base += ESC
            if (base << s) >= umax:
                return OUT_OF_RANGE
        v = base + sym
        w = 0
        left = s
        first = True
        while left > 0:
            c = left - 16 * ((left - 1) >> 4) if first else 16
            first = False
            left -= c
            slot = x & 0xFFFF
            sh = SCALE - c
            w = (w << c) | (slot >> sh)
            x = ((x >> SCALE) << sh) + (slot & ((1 << sh) - 1))
            while x < RANS_L:
                if pos >= n:
                    return TRUNCATED
                x = (x << 8) | np.int64(data[pos])
                pos += 1
        u = (v << s) + w + 1
        if u > umax:
            return OUT_OF_RANGE
        prev += u
        out[t] = prev
    if x != RANS_L:
        return BAD_FIELD
    if pos != n:
        return TRAILING
    return 0
