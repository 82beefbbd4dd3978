"""Numba kernels of the context-modelled adaptive coders (codecs 0x30, 0x31, 0x32, 0x40, 0x41, 0x42).

Same names, signatures and output bytes as :mod:`plada_codec._ext.adaptive_ref`; the model and the coder
are specified in docs/codecs/adaptive.md.  Encoders return the byte count written to ``out`` (or
``OVERFLOW`` when ``out`` is too small); decoders return 0 or a negative status
(:mod:`plada_codec._ext.status`).  Nothing raises.

Each stream is coded by one routine that runs in either direction (``mode`` 0 encodes, 1 decodes), so the
model the encoder uses and the model the decoder rebuilds cannot drift apart.

Coder: binary arithmetic coder on 32-bit bounds ``x1 <= x2`` (carry-less: a byte leaves when the top bytes
of both bounds agree), probabilities of a 1 bit in 16 bits.  Each context holds a probability and a count
``n`` packed as ``p << 8 | n``; the probability moves toward the coded bit by ``1 / (n + 1.5)`` of the
distance (``DIV`` table), ``n`` saturates at the table's limit.  Integers only.
"""
from __future__ import annotations

import numpy as np
from numba import config, njit
from numba.cpython.unsafe.numbers import leading_zeros

from . import status

TRUNCATED = status.TRUNCATED
OUT_OF_RANGE = status.OUT_OF_RANGE
TRAILING = status.TRAILING
COUNT = status.COUNT
OVERFLOW = status.OVERFLOW
END_STATE = status.END_STATE
BAD_FIELD = status.BAD_FIELD

__all__ = [
    "gaps_encode",
    "gaps_decode",
    "grouped_encode",
    "grouped_decode",
    "labels_encode",
    "labels_decode",
    "density_encode",
    "density_decode",
    "uniform_labels_encode",
    "uniform_labels_decode",
    "dirichlet_labels_encode",
    "dirichlet_labels_decode",
]

MASK32 = 0xFFFFFFFF
PMIN = 32
PMAX = 65536 - 32
P_INIT = 32768 << 8
# rate table: DIV[n] = 2**17 // (2n + 3) ~ 2**16 / (n + 1.5)
DIV = np.array([(1 << 17) // (2 * n + 3) for n in range(256)], dtype=np.int64)
# count limits: the adaptation rate never falls below 1 / (limit + 1.5)
LIM_BUCKET = 60
LIM_MANT = 250
LIM_FLAG = 120
LIM_CLASS = 250

BUCKETS = 32       # u in [1, 2**32): bucket b = bitlen(u) - 1 in [0, 31]
MANT_SLOTS = 36    # per (context, bucket): tree nodes 1..3 for the top two bits, 4 + s for lower bit s
MAXLIST = 12       # labels: candidate list length
AGE_LIMIT = 4      # labels without folders: halve all counts when the coded label's count reaches this


if config.DISABLE_JIT:  # the module runs as plain Python: no intrinsics
    def _bitlen(x):
        return int(x).bit_length() if x > 0 else 0
else:
    @njit(cache=True, inline="always")
    def _bitlen(x):
        """Bits of ``x`` (0 for x <= 0): one count-leading-zeros instruction, not a loop."""
        if x <= 0:
            return 0
        return 64 - leading_zeros(np.int64(x))


@njit(cache=True, inline="always")
def _gap_bucket(rp, rk):
    """``bitlen(rp // rk)`` for 0 < rk < rp without the division: with d = bitlen(rp) - bitlen(rk),
    ``rk << d`` has as many bits as rp, and rp // rk >= 2**d exactly when rp >= rk << d."""
    d = _bitlen(rp) - _bitlen(rk)
    return d + 1 if rp >= (rk << d) else d


@njit(cache=True, nogil=True)
def _table(n):
    return np.full(n, P_INIT, np.int32)


@njit(cache=True, inline="always")
def _renorm(mode, x1, x2, x, pos, buf):
    """Shift out the top byte while both bounds agree on it (encoder: write it; decoder: read one)."""
    while ((x1 ^ x2) & 0xFF000000) == 0:
        if mode:
            c = 0
            if pos < buf.shape[0]:
                c = int(buf[pos])  # int(): also right as plain Python (NUMBA_DISABLE_JIT) under NumPy 2 promotion
            x = ((x << 8) & MASK32) | c
        elif pos < buf.shape[0]:
            buf[pos] = x2 >> 24
        pos += 1
        x1 = (x1 << 8) & MASK32
        x2 = ((x2 << 8) & MASK32) | 0xFF
    return x1, x2, x, pos


@njit(cache=True, inline="always")
def _code(mode, x1, x2, x, pos, buf, bit, T, i, lim):
    """Code one binary decision with context ``T[i]``.  mode 0: encode ``bit`` into ``buf``;
    mode 1: decode it from ``buf``.  Returns (bit, x1, x2, x, pos).  Written without branches on the
    bit (masks and min/max), so a hard-to-predict decision costs no branch misprediction."""
    s = int(T[i])
    p = s >> 8
    n = s & 0xFF
    r = x2 - x1
    xmid = x1 + ((r * p) >> 16)  # = x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16): r * p < 2**48
    if mode:
        bit = 1 if x <= xmid else 0
    m = -bit  # all ones when bit == 1
    x2 = (xmid & m) | (x2 & ~m)
    x1 = ((xmid + 1) & ~m) | (x1 & m)
    d = DIV[n]
    # toward 65536 (bit 1) or 0 (bit 0) by floor(|target - p| * d / 2**16), in one multiplication: for a 0
    # bit, (-p d + 65535) >> 16 == -((p d) >> 16)
    p += ((((65536 & m) - p) * d) + (65535 & ~m)) >> 16
    p = min(max(p, PMIN), PMAX)
    n += 1 if n < lim else 0
    T[i] = (p << 8) | n
    x1, x2, x, pos = _renorm(mode, x1, x2, x, pos, buf)
    return bit, x1, x2, x, pos


@njit(cache=True, inline="always")
def _code_uint(mode, x1, x2, x, pos, buf, u, umax, TB, cb, TM, cm, lb=LIM_BUCKET, lm=LIM_MANT):
    """Code ``u`` in [1, umax] (Elias-gamma binarisation): the bucket b = bitlen(u) - 1 in unary
    ("b == j?" for j = 0, 1, ..., no decision once j = bitlen(umax) - 1) with contexts (cb, j), then the
    b bits below the leading one, most significant first: the top two through a 3-node tree with
    context (cm, b), the rest with context (cm, b, bit position).  Decoding returns u, which the caller
    must check against umax (the mantissa can exceed it on corrupt input)."""
    bmax = _bitlen(umax) - 1
    b = 0
    if mode == 0:
        b = _bitlen(u) - 1
    j = 0
    while j < bmax:
        hit = 1 if j == b else 0
        hit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, hit, TB, cb * BUCKETS + j, lb)
        if hit:
            break
        j += 1
    b = j
    return _code_mantissa(mode, x1, x2, x, pos, buf, u, b, TM, cm, lm, 0)


@njit(cache=True, inline="always")
def _code_mantissa(mode, x1, x2, x, pos, buf, u, b, TM, cm, lm, lowfixed):
    """The b bits of ``u`` below its leading one (bucket b): the top two through a 3-node tree with
    context (cm, b), the rest with context (cm, b, bit position), or, when ``lowfixed``, as fixed
    decisions of probability 1/2.  Returns (u, x1, x2, x, pos)."""
    v = 1
    node = 1
    base = (cm * BUCKETS + b) * MANT_SLOTS
    for s in range(b - 1, -1, -1):
        bit = (u >> s) & 1
        if node < 4:
            bit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, bit, TM, base + node, lm)
            node = node * 2 + bit
        elif lowfixed:
            bit, x1, x2, x, pos = _code_fixed(mode, x1, x2, x, pos, buf, bit, 32768)
        else:
            bit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, bit, TM, base + 4 + s, lm)
        v = (v << 1) | bit
    return v, x1, x2, x, pos


@njit(cache=True, inline="always")
def _code_uint_centred(mode, x1, x2, x, pos, buf, u, umax, j0, TB, cb, TM, cm, lb, lm):
    """Code ``u`` in [1, umax] like :func:`_code_uint`, but the bucket b is searched from the expected
    bucket ``j0`` outwards: "b >= j0?" (context cb * 64 + 63, not coded when j0 == 0), then "b == j?"
    for j = j0, j0 + 1, ... below bmax (context cb * 64 + j), or for j = j0 - 1, j0 - 2, ... above 0
    (context cb * 64 + 32 + j).  About 2.5 decisions per bucket instead of b + 1.  The mantissa bits
    below the top two are fixed decisions of probability 1/2 (near-uniform for a geometric gap)."""
    bmax = _bitlen(umax) - 1
    if j0 > bmax:
        j0 = bmax
    b = 0
    if mode == 0:
        b = _bitlen(u) - 1
    up = 1
    if j0 > 0:
        up = 1 if b >= j0 else 0
        up, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, up, TB, cb * 64 + 63, lb)
    if up:
        j = j0
        while j < bmax:
            hit = 1 if j == b else 0
            hit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, hit, TB, cb * 64 + j, lb)
            if hit:
                break
            j += 1
    else:
        j = j0 - 1
        while j > 0:
            hit = 1 if j == b else 0
            hit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, hit, TB, cb * 64 + 32 + j, lb)
            if hit:
                break
            j -= 1
    return _code_mantissa(mode, x1, x2, x, pos, buf, u, j, TM, cm, lm, 1)


@njit(cache=True, inline="always")
def _code_fixed(mode, x1, x2, x, pos, buf, bit, p):
    """A decision with a fixed probability ``p`` of a 1 (1 <= p <= 65535), no adaptation."""
    r = x2 - x1
    xmid = x1 + ((r * p) >> 16)  # = x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16): r * p < 2**48
    if mode:
        bit = 1 if x <= xmid else 0
    m = -bit
    x2 = (xmid & m) | (x2 & ~m)
    x1 = ((xmid + 1) & ~m) | (x1 & m)
    x1, x2, x, pos = _renorm(mode, x1, x2, x, pos, buf)
    return bit, x1, x2, x, pos


@njit(cache=True, inline="always")
def _code_uniform(mode, x1, x2, x, pos, buf, v, C, R):
    """One symbol ``v`` of the uniform distribution over [0, C) (2 <= C <= 65535) in a single step:
    the range is cut into C slices of ``step = ((x2 - x1) * R) >> 32`` values (``R = 2**32 // C``),
    the last slice taking the remainder.  First, while the range is below 2**16 (the bounds straddle a
    byte boundary closely) the coder keeps the larger side of that boundary, so that step >= 1.
    Returns (v, x1, x2, x, pos); the decoder returns v = -1 when ``x`` has left the bounds (corrupt)."""
    while x2 - x1 < 65536:
        B = x2 & 0xFF000000                     # x1 < B <= x2
        if B - x1 > x2 - B:
            x2 = B - 1
        else:
            x1 = B
        x1, x2, x, pos = _renorm(mode, x1, x2, x, pos, buf)
    step = ((x2 - x1) * R) >> 32
    if mode:
        if x < x1 or x > x2:
            return -1, x1, x2, x, pos
        v = np.int64(np.uint32(x - x1) // np.uint32(step))  # both < 2**32: a 32-bit division, ~25 % faster
        if v >= C:
            v = C - 1
    x1 += v * step
    if v < C - 1:
        x2 = x1 + step - 1
    x1, x2, x, pos = _renorm(mode, x1, x2, x, pos, buf)
    return v, x1, x2, x, pos


@njit(cache=True, inline="always")
def _start(mode, buf):
    """Initial (x, pos): the decoder reads 4 bytes (missing bytes read as 0 and fail the end check)."""
    x = 0
    pos = 0
    if mode:
        for s in range(4):
            c = 0
            if s < buf.shape[0]:
                c = int(buf[s])
            x = (x << 8) | c
        pos = 4
    return x, pos


@njit(cache=True, inline="always")
def _finish(mode, x1, x, pos, buf):
    """Encoder: write x1 as 4 bytes, return the length.  Decoder: require exactly all bytes read and
    x == x1 (the encoder's flushed x1 is what the decoder last read into x)."""
    if mode:
        if pos > buf.shape[0]:
            return TRUNCATED
        if pos < buf.shape[0]:
            return TRAILING
        if x != x1:
            return END_STATE
        return 0
    for s in range(4):
        if pos < buf.shape[0]:
            buf[pos] = (x1 >> (24 - 8 * s)) & 0xFF
        pos += 1
    if pos > buf.shape[0]:
        return OVERFLOW
    return pos


@njit(cache=True, inline="always")
def _over(mode, pos, buf):
    """True once the decoder has read past the end of the stream (truncated) or the encoder has filled
    its buffer (overflow); the caller returns the matching status."""
    return pos > buf.shape[0]


# ---------------------------------------------------------------------------------------------------------
# codec 0x30: gaps without side information.  u = idx[t] - idx[t-1] (idx[-1] = -1) in [1, umax] where
# umax = N - idx[t-1] - (k - t) leaves room for the remaining indices.  Two running means of the buckets
# follow the local density: a fast one (weight 1/4) and a slow one (weight 1/8).  Bucket context: (slow,
# fast), searched from the fast mean's bucket outwards; mantissa context: slow.

@njit(cache=True, inline="always")
def _mean_q(avg):
    a = (avg + 8) >> 4
    return a if a < 15 else 15


@njit(cache=True, nogil=True)
def _gaps_run(mode, idx, pool_size, buf):
    k = idx.shape[0]
    TB = _table(256 * 64)
    TM = _table(16 * BUCKETS * MANT_SLOTS)
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    prev = -1
    fast = 0  # 16 x exponential mean of the buckets, weight 1/4
    slow = 0  # the same, weight 1/8
    for t in range(k):
        umax = pool_size - prev - (k - t)
        if umax < 1:
            return OUT_OF_RANGE
        a = _mean_q(fast)
        a2 = _mean_q(slow)
        u = 0
        if mode == 0:
            u = idx[t] - prev
        u, x1, x2, x, pos = _code_uint_centred(mode, x1, x2, x, pos, buf, u, umax, a, TB, a2 * 16 + a, TM, a2,
                                               LIM_BUCKET, LIM_MANT)
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
        if u > umax:
            return OUT_OF_RANGE
        b = _bitlen(u) - 1
        fast += (b * 16 - fast) >> 2
        slow += (b * 16 - slow) >> 3
        prev += u
        if mode:
            idx[t] = prev
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def gaps_encode(idx, pool_size, out):
    """Code sorted unique ``idx`` (int64, in [0, pool_size)) into ``out``; returns the byte count."""
    return _gaps_run(0, idx, pool_size, out)


@njit(cache=True, nogil=True)
def gaps_decode(data, pool_size, out):
    """Decode ``out.shape[0]`` indices from ``data`` into ``out``; returns 0 or a status."""
    return _gaps_run(1, out, pool_size, data.copy())  # copy: the shared routine types buf writable


# ---------------------------------------------------------------------------------------------------------
# codec 0x31: folder sizes known.  For each folder f (until all k are placed): the kept count n_f + 1 in
# [1, min(g_f, k - placed) + 1] with bucket context (expected count from the previous folder's density,
# previous count) and mantissa context (expected count); then the positions inside the folder as gaps
# u in [1, rp - rk + 1] (rp positions left, rk kept left; nothing is coded once rk == rp) with context
# q = bitlen(rp // rk), the bucket of the expected gap.  Both through the centred binarisation (bucket
# searched from the expected one: ce for counts, q - 1 for gaps; low mantissa bits fixed).

@njit(cache=True, inline="always")
def _count_ctx(n_prev, g_prev, g):
    e = 0
    if g_prev > 0:
        e = (n_prev * g) // g_prev
    ce = _bitlen(e)
    if ce > 15:
        ce = 15
    cp = _bitlen(n_prev)
    if cp > 7:
        cp = 7
    return ce * 8 + cp, ce


@njit(cache=True, nogil=True)
def _grouped_run(mode, idx, gstart, buf):
    k = idx.shape[0]
    G = gstart.shape[0] - 1
    TB = _table(128 * 64)
    TM = _table(16 * BUCKETS * MANT_SLOTS)
    QB = _table(33 * 64)
    QM = _table(33 * BUCKETS * MANT_SLOTS)
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    t = 0
    n_prev = 0
    g_prev = 0
    for f in range(G):
        if t == k:
            break
        lo = gstart[f]
        hi = gstart[f + 1]
        g = hi - lo
        nf = 0
        if mode == 0:
            e = t
            while e < k and idx[e] < hi:
                e += 1
            nf = e - t
        nmax = min(g, k - t)
        cb, cm = _count_ctx(n_prev, g_prev, g)
        u, x1, x2, x, pos = _code_uint_centred(mode, x1, x2, x, pos, buf, nf + 1, nmax + 1, cm, TB, cb, TM, cm,
                                               LIM_BUCKET, LIM_MANT)
        if u > nmax + 1:
            return OUT_OF_RANGE
        nf = u - 1
        rk = nf
        rp = g
        p = lo - 1
        while rk > 0:
            if rk == rp:
                if mode:
                    for s in range(rk):
                        idx[t + s] = p + 1 + s
                t += rk
                break
            q = _gap_bucket(rp, rk)
            u = 0
            if mode == 0:
                u = idx[t] - p
            u, x1, x2, x, pos = _code_uint_centred(mode, x1, x2, x, pos, buf, u, rp - rk + 1, q - 1, QB, q, QM, q,
                                                   LIM_BUCKET, LIM_MANT)
            if u > rp - rk + 1:
                return OUT_OF_RANGE
            rp -= u
            rk -= 1
            p += u
            if mode:
                idx[t] = p
            t += 1
        n_prev = nf
        g_prev = g
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
    if t != k:
        return COUNT
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def grouped_encode(idx, gstart, out):
    """Code sorted ``idx`` given the folder starts ``gstart`` (int64, G + 1 entries, 0 .. N)."""
    return _grouped_run(0, idx, gstart, out)


@njit(cache=True, nogil=True)
def grouped_decode(data, gstart, out):
    return _grouped_run(1, out, gstart, data.copy())


# ---------------------------------------------------------------------------------------------------------
# codec 0x32: gaps of a subset with no structure.  u in [1, rp - rk + 1] with context q = bitlen(rp // rk)
# (the bucket of the exact mean gap: rp pool positions left, rk indices left), as inside a folder of
# 0x31 with the whole pool as one folder and k known (centred binarisation from bucket q - 1); counters
# at the slowest rate (limit 255).

LIM_STATIONARY = 255
RESET_MARGIN = 80  # labels without folders: empty the list after a gap 5 buckets above the slow mean


@njit(cache=True, nogil=True)
def _density_run(mode, idx, pool_size, buf):
    k = idx.shape[0]
    QB = _table(33 * 64)
    QM = _table(33 * BUCKETS * MANT_SLOTS)
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    rk = k
    rp = pool_size
    p = -1
    t = 0
    while rk > 0:
        if rk == rp:
            if mode:
                for s in range(rk):
                    idx[t + s] = p + 1 + s
            break
        q = _gap_bucket(rp, rk)
        u = 0
        if mode == 0:
            u = idx[t] - p
        u, x1, x2, x, pos = _code_uint_centred(mode, x1, x2, x, pos, buf, u, rp - rk + 1, q - 1, QB, q, QM, q,
                                               LIM_STATIONARY, LIM_STATIONARY)
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
        if u > rp - rk + 1:
            return OUT_OF_RANGE
        rp -= u
        rk -= 1
        p += u
        if mode:
            idx[t] = p
        t += 1
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def density_encode(idx, pool_size, out):
    return _density_run(0, idx, pool_size, out)


@njit(cache=True, nogil=True)
def density_decode(data, pool_size, out):
    return _density_run(1, out, pool_size, data.copy())


# ---------------------------------------------------------------------------------------------------------
# codec 0x42: labels with the uniform distribution over [0, C): one uniform step per label (log2 C bits
# to within 2**-16), no model learnt or shipped; nothing is coded when C == 1.

@njit(cache=True, inline="always")
def _label_to_code(mode, labels, t, C):
    """Encoder: ``labels[t]``, or -1 when it lies outside [0, C); decoder: 0 (the label is decoded)."""
    if mode:
        return 0
    lab = labels[t]
    return lab if 0 <= lab < C else -1


@njit(cache=True, nogil=True)
def _uniform_run(mode, labels, num_classes, buf):
    k = labels.shape[0]
    C = num_classes
    R = (1 << 32) // C
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    for t in range(k):
        lab = _label_to_code(mode, labels, t, C)
        if lab < 0:
            return OUT_OF_RANGE
        if C > 1:
            lab, x1, x2, x, pos = _code_uniform(mode, x1, x2, x, pos, buf, lab, C, R)
            if lab < 0:
                return OUT_OF_RANGE
        if mode:
            labels[t] = lab
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def uniform_labels_encode(labels, num_classes, out):
    return _uniform_run(0, labels, num_classes, out)


@njit(cache=True, nogil=True)
def uniform_labels_decode(data, num_classes, out):
    return _uniform_run(1, out, num_classes, data.copy())


# ---------------------------------------------------------------------------------------------------------
# codec 0x43: labels as iid draws of an unknown distribution (Dirichlet prior alpha = 2**-a per class): the
# class id through a binary tree over [0, 2**L), L = bitlen(C - 1), whose split probabilities are the
# exact ratios of the subtrees' weights W = (count << a) + (classes below C in the subtree), as 16-bit
# fixed decisions.  The first stream byte holds a (0..DIRICHLET_MAX_SHIFT); the coder stream follows.

DIRICHLET_MAX_SHIFT = 7


@njit(cache=True, inline="always")
def _subtree_classes(node, depth, L, C):
    """How many classes below C the tree node ``node`` (at ``depth``, root 1 at depth 0) covers."""
    span = 1 << (L - depth)
    lo = (node - (1 << depth)) * span
    v = C - lo
    return min(max(v, 0), span)


@njit(cache=True, nogil=True)
def _dirichlet_run(mode, labels, num_classes, shift, buf):
    k = labels.shape[0]
    C = num_classes
    L = _bitlen(C - 1)
    cnt = np.zeros(2 << L, np.int64)
    classes = np.empty(2 << L, np.int64)  # per node: the classes below C it covers (a table: 1.6x faster)
    for node in range(1, 2 << L):
        classes[node] = _subtree_classes(node, _bitlen(node) - 1, L, C)
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    for t in range(k):
        lab = _label_to_code(mode, labels, t, C)
        if lab < 0:
            return OUT_OF_RANGE
        node = 1
        w = (cnt[1] << shift) + C  # weight of the current node
        for d in range(L):
            right = 2 * node + 1
            wr = (cnt[right] << shift) + classes[right]
            bit = 0
            if mode == 0:
                bit = (lab >> (L - 1 - d)) & 1
            if wr > 0:  # else the right subtree holds no class: 0 without a decision
                p = np.int64(np.uint64(wr << 16) // np.uint64(w))  # unsigned: no sign fix-up
                if p < 1:
                    p = 1
                bit, x1, x2, x, pos = _code_fixed(mode, x1, x2, x, pos, buf, bit, p)
            cnt[node] += 1
            node = 2 * node + bit
            w = wr if bit else w - wr
        cnt[node] += 1
        if mode:
            labels[t] = node - (1 << L)
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def dirichlet_labels_encode(labels, num_classes, shift, out):
    """Code ``labels`` (int64, < num_classes) with prior 2**-shift per class; ``out[0]`` gets ``shift``."""
    if shift < 0 or shift > DIRICHLET_MAX_SHIFT:
        return BAD_FIELD
    if out.shape[0] < 1:
        return OVERFLOW
    out[0] = shift
    n = _dirichlet_run(0, labels, num_classes, shift, out[1:])
    return n + 1 if n >= 0 else n


@njit(cache=True, nogil=True)
def dirichlet_labels_decode(data, num_classes, out):
    if data.shape[0] < 1:
        return TRUNCATED
    shift = np.int64(data[0])
    if shift > DIRICHLET_MAX_SHIFT:
        return BAD_FIELD
    return _dirichlet_run(1, out, num_classes, shift, data[1:].copy())


# ---------------------------------------------------------------------------------------------------------
# codecs 0x40 / 0x41: labels, given the decoded indices (and for 0x41 the folders).  A list of up to
# MAXLIST candidate classes ordered by count (ties: most recently coded first).  Per label: an escape
# flag "not in the list" (skipped while the list is empty), then either the rank r + 1 in [1, D] or the
# class id through a binary tree of bitlen(C - 1) levels.  Context c = (bitlen(D) capped at 7, g, r0) where
# g is the capped gap bucket (0x40) or bitlen(labels coded so far in this folder) capped at 7 (0x41), and
# r0 says whether the previous label had rank 0.  0x41 empties the list at each new folder; 0x40 halves
# all counts when the coded label's count reaches AGE_LIMIT, dropping those that reach 0.

@njit(cache=True, inline="always")
def _forget(where, lst, D):
    """Empty the candidate list (and clear the positions of its classes); returns 0."""
    for q in range(D):
        where[lst[q]] = -1
    return 0


@njit(cache=True, nogil=True)
def _labels_run(mode, idx, labels, num_classes, gstart, grouped, buf):
    k = idx.shape[0]
    L = _bitlen(num_classes - 1)
    PE = _table(128)
    PB = _table(128 * BUCKETS)
    PM = _table(128 * BUCKETS * MANT_SLOTS)
    # without folders the escape tree is conditioned on the current top candidate (C <= 512)
    TC = num_classes + 1 if (num_classes <= 512 and not grouped) else 1
    PT = _table(TC << L)
    lst = np.zeros(MAXLIST, np.int64)
    cnt = np.zeros(MAXLIST, np.int64)
    # where[c] = the list position of class c, or -1: the encoder's search without a scan, the decoder's
    # check that an escape does not name a listed class
    where = np.full(num_classes, -1, np.int64)
    x1 = 0
    x2 = MASK32
    x, pos = _start(mode, buf)
    D = 0
    prev = -1
    f = 0
    nfold = gstart.shape[0] - 1
    infolder = 0
    r0 = 1
    lslow = 0
    for t in range(k):
        i = idx[t]
        if grouped:
            newf = 0
            while f + 1 < nfold and gstart[f + 1] <= i:
                f += 1
                newf = 1
            if newf:
                infolder = 0
                D = _forget(where, lst, D)
            gq = _bitlen(infolder)
        else:
            gq = _bitlen(i - prev) - 1
            if gq * 16 > lslow + RESET_MARGIN:
                D = _forget(where, lst, D)
            lslow += (gq * 16 - lslow) >> 3
        if gq > 7:
            gq = 7
        prev = i
        lab = 0
        r = -1
        if mode == 0:
            lab = labels[t]
        if L > 0:
            dq = _bitlen(D)
            if dq > 7:
                dq = 7
            c = (dq * 8 + gq) * 2 + r0
            esc = 1
            if D > 0:
                if mode == 0:
                    r = where[lab]
                    esc = 1 if r < 0 else 0
                esc, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, esc, PE, c, LIM_FLAG)
                if not esc:
                    u, x1, x2, x, pos = _code_uint(mode, x1, x2, x, pos, buf, r + 1, D, PB, c, PM, c)
                    if u > D:
                        return OUT_OF_RANGE
                    r = u - 1
                    lab = lst[r]
            if esc:
                tb = 0
                if TC > 1:
                    if not grouped and D > 0:
                        tb = (lst[0] + 1) << L
                node = 1
                for s in range(L - 1, -1, -1):
                    bit = (lab >> s) & 1
                    bit, x1, x2, x, pos = _code(mode, x1, x2, x, pos, buf, bit, PT, tb + node, LIM_CLASS)
                    node = node * 2 + bit
                lab = node - (1 << L)
                if lab >= num_classes:
                    return OUT_OF_RANGE
                if where[lab] >= 0:  # the encoder never escapes a listed class: not its output
                    return BAD_FIELD
        if _over(mode, pos, buf):
            return TRUNCATED if mode else OVERFLOW
        if mode:
            labels[t] = lab
        r0 = 1 if r == 0 else 0
        if L > 0:
            if r < 0:
                if D < MAXLIST:
                    D += 1
                else:
                    where[lst[D - 1]] = -1  # the last entry leaves the list
                r = D - 1
                cnt[r] = 0
            cr = cnt[r] + 1
            while r > 0 and cnt[r - 1] <= cr:
                lst[r] = lst[r - 1]
                cnt[r] = cnt[r - 1]
                where[lst[r]] = r
                r -= 1
            lst[r] = lab
            cnt[r] = cr
            where[lab] = r
            if not grouped and cr >= AGE_LIMIT:
                j = 0
                for q in range(D):
                    h = cnt[q] >> 1
                    c = lst[q]
                    if h > 0:
                        lst[j] = c
                        cnt[j] = h
                        where[c] = j
                        j += 1
                    else:
                        where[c] = -1
                D = j
        infolder += 1
    return _finish(mode, x1, x, pos, buf)


@njit(cache=True, nogil=True)
def labels_encode(idx, labels, num_classes, gstart, grouped, out):
    """Code ``labels`` (int64, < num_classes) given ``idx``; ``gstart`` is used when ``grouped``."""
    return _labels_run(0, idx, labels, num_classes, gstart, grouped, out)


@njit(cache=True, nogil=True)
def labels_decode(data, idx, num_classes, gstart, grouped, out):
    return _labels_run(1, idx, out, num_classes, gstart, grouped, data.copy())
