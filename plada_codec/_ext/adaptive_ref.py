"""Reference (plain Python) implementation of the adaptive coders: same names, signatures and bytes as
:mod:`plada_codec._ext.adaptive_nb`, written from docs/codecs/adaptive.md as objects (a coder, context
tables, a candidate list) rather than as one fused loop.  Slow (~1 us per decision): for tests and for
platforms without a compiler.
"""
from __future__ import annotations

import numpy as np

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

PMIN, PMAX = 32, 65536 - 32
DIV = [(1 << 17) // (2 * n + 3) for n in range(256)]
LIM_BUCKET, LIM_MANT, LIM_FLAG, LIM_CLASS, LIM_STATIONARY = 60, 250, 120, 250, 255
BUCKETS, MANT_SLOTS, MAXLIST, AGE_LIMIT, RESET_MARGIN = 32, 36, 12, 4, 80


class _Stop(Exception):
    """Raised inside the reference to abandon a stream with a status code."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class Contexts:
    """A table of adaptive bit models: probability of a 1 (16 bits) and a hit count each."""

    def __init__(self, n: int):
        self.p = [32768] * n
        self.n = [0] * n

    def update(self, i: int, bit: int, limit: int) -> None:
        p, n = self.p[i], self.n[i]
        if bit:
            p = min(PMAX, p + (((65536 - p) * DIV[n]) >> 16))
        else:
            p = max(PMIN, p - ((p * DIV[n]) >> 16))
        self.p[i] = p
        self.n[i] = min(limit, n + 1)


class _Fixed:
    """A one-context table whose probability never moves."""

    def __init__(self, p: int):
        self.p = [p]

    def update(self, i, bit, limit) -> None:
        pass


class _Coder:
    """What the encoder and the decoder share: the bounds x1 <= x2 and the uniform step's range moves
    (subclasses provide ``_renorm``)."""

    x1: int
    x2: int

    def _renorm(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _widen(self) -> None:
        """Before a uniform step: while the range is below 2**16 (bounds straddling a byte boundary
        closely) keep the larger side of the boundary x2 & 0xFF000000, then renormalise."""
        while self.x2 - self.x1 < 65536:
            b = self.x2 & 0xFF000000
            if b - self.x1 > self.x2 - b:
                self.x2 = b - 1
            else:
                self.x1 = b
            self._renorm()

    def _take(self, v: int, step: int, C: int) -> int:
        """Narrow the bounds to uniform symbol ``v`` of ``C`` (the last symbol keeps the remainder)."""
        self.x1 += v * step
        if v < C - 1:
            self.x2 = self.x1 + step - 1
        self._renorm()
        return v


class Encoder(_Coder):
    def __init__(self, capacity: int):
        self.x1, self.x2 = 0, 0xFFFFFFFF
        self.out = bytearray()
        self.capacity = capacity

    def code(self, bit: int, ctx: Contexts, i: int, limit: int) -> int:
        p = ctx.p[i]
        r = self.x2 - self.x1
        xmid = self.x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16)
        if bit:
            self.x2 = xmid
        else:
            self.x1 = xmid + 1
        ctx.update(i, bit, limit)
        self._renorm()
        return bit

    def _renorm(self) -> None:
        while (self.x1 ^ self.x2) & 0xFF000000 == 0:
            self.out.append(self.x2 >> 24)
            self.x1 = (self.x1 << 8) & 0xFFFFFFFF
            self.x2 = ((self.x2 << 8) & 0xFFFFFFFF) | 0xFF

    def fixed(self, bit: int, p: int) -> int:
        """A decision with fixed probability p of a 1 (no model to adapt)."""
        return self.code(bit, _Fixed(p), 0, 0)

    def uniform(self, v: int, C: int, R: int) -> int:
        """One uniform symbol v in [0, C) (docs/codecs/adaptive.md, section 2)."""
        self._widen()
        step = ((self.x2 - self.x1) * R) >> 32
        return self._take(v, step, C)

    def check(self) -> None:
        if len(self.out) > self.capacity:
            raise _Stop(OVERFLOW)

    def finish(self, out: np.ndarray) -> int:
        self.out += self.x1.to_bytes(4, "big")
        if len(self.out) > out.shape[0]:
            return OVERFLOW
        out[: len(self.out)] = np.frombuffer(bytes(self.out), dtype=np.uint8)
        return len(self.out)


class Decoder(_Coder):
    def __init__(self, data: np.ndarray):
        self.data = bytes(data)
        self.x1, self.x2 = 0, 0xFFFFFFFF
        self.x = int.from_bytes(self.data[:4].ljust(4, b"\0"), "big")
        self.pos = 4

    def code(self, _bit, ctx: Contexts, i: int, limit: int) -> int:
        p = ctx.p[i]
        r = self.x2 - self.x1
        xmid = self.x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16)
        bit = 1 if self.x <= xmid else 0
        if bit:
            self.x2 = xmid
        else:
            self.x1 = xmid + 1
        ctx.update(i, bit, limit)
        self._renorm()
        return bit

    def _renorm(self) -> None:
        while (self.x1 ^ self.x2) & 0xFF000000 == 0:
            c = self.data[self.pos] if self.pos < len(self.data) else 0
            self.pos += 1
            self.x = ((self.x << 8) & 0xFFFFFFFF) | c
            self.x1 = (self.x1 << 8) & 0xFFFFFFFF
            self.x2 = ((self.x2 << 8) & 0xFFFFFFFF) | 0xFF

    def uniform(self, _v, C: int, R: int) -> int:
        self._widen()
        if not self.x1 <= self.x <= self.x2:
            raise _Stop(OUT_OF_RANGE)  # only a corrupt stream leaves the bounds
        step = ((self.x2 - self.x1) * R) >> 32
        return self._take(min((self.x - self.x1) // step, C - 1), step, C)

    def fixed(self, bit, p: int) -> int:
        return self.code(bit, _Fixed(p), 0, 0)

    def check(self) -> None:
        if self.pos > len(self.data):
            raise _Stop(TRUNCATED)

    def finish(self) -> int:
        if self.pos > len(self.data):
            return TRUNCATED
        if self.pos < len(self.data):
            return TRAILING
        if self.x != self.x1:  # the encoder flushed x1: the last 4 bytes read
            return END_STATE
        return 0


def _encode_with(run, out: np.ndarray, *args) -> int:
    """Run a stream routine ``run(coder, *args, decoding)`` as the encoder into ``out``; returns the byte
    count or the status that stopped it."""
    enc = Encoder(out.shape[0])
    try:
        run(enc, *args, False)
    except _Stop as stop:
        return stop.code
    return enc.finish(out)


def _decode_with(run, data: np.ndarray, *args) -> int:
    """Run a stream routine ``run(coder, *args, decoding)`` as the decoder of ``data``; returns 0 or a
    status."""
    dec = Decoder(data)
    try:
        run(dec, *args, True)
    except _Stop as stop:
        return stop.code
    return dec.finish()


def _bitlen(x: int) -> int:
    return int(x).bit_length()


class UIntModel:
    """Elias-gamma binarisation of u in [1, umax] with adaptive bucket and mantissa contexts."""

    def __init__(self, bucket_contexts: int, mantissa_contexts: int, limits=(LIM_BUCKET, LIM_MANT)):
        self.buckets = Contexts(bucket_contexts * BUCKETS)
        self.mantissa = Contexts(mantissa_contexts * BUCKETS * MANT_SLOTS)
        self.lim_bucket, self.lim_mant = limits

    def code(self, coder, u: int, umax: int, cb: int, cm: int) -> int:
        bmax = _bitlen(umax) - 1
        b = _bitlen(u) - 1 if u else 0
        j = 0
        while j < bmax:
            if coder.code(1 if j == b else 0, self.buckets, cb * BUCKETS + j, self.lim_bucket):
                break
            j += 1
        return self.mantissa_code(coder, u, j, cm)

    def mantissa_code(self, coder, u: int, b: int, cm: int, lowfixed: bool = False) -> int:
        v, node = 1, 1
        base = (cm * BUCKETS + b) * MANT_SLOTS
        for s in range(b - 1, -1, -1):
            bit = (u >> s) & 1
            if node < 4:
                bit = coder.code(bit, self.mantissa, base + node, self.lim_mant)
                node = node * 2 + bit
            elif lowfixed:
                bit = coder.fixed(bit, 32768)
            else:
                bit = coder.code(bit, self.mantissa, base + 4 + s, self.lim_mant)
            v = (v << 1) | bit
        return v


class CentredUIntModel(UIntModel):
    """The same binarisation, the bucket searched outwards from an expected bucket j0 (64 bucket
    contexts per cb: 0..31 upwards, 32 + j downwards, 63 the "b >= j0" split); mantissa bits below
    the top two as fixed decisions of probability 1/2."""

    def __init__(self, bucket_contexts: int, mantissa_contexts: int, limits=(LIM_BUCKET, LIM_MANT)):
        super().__init__(bucket_contexts, mantissa_contexts, limits)
        self.buckets = Contexts(bucket_contexts * 64)

    def code(self, coder, u: int, umax: int, cb: int, cm: int, j0: int = 0) -> int:
        bmax = _bitlen(umax) - 1
        j0 = min(j0, bmax)
        b = _bitlen(u) - 1 if u else 0
        up = 1
        if j0 > 0:
            up = coder.code(1 if b >= j0 else 0, self.buckets, cb * 64 + 63, self.lim_bucket)
        if up:
            j = j0
            while j < bmax and not coder.code(1 if j == b else 0, self.buckets, cb * 64 + j, self.lim_bucket):
                j += 1
        else:
            j = j0 - 1
            while j > 0 and not coder.code(1 if j == b else 0, self.buckets, cb * 64 + 32 + j, self.lim_bucket):
                j -= 1
        return self.mantissa_code(coder, u, j, cm, lowfixed=True)


# ------------------------------------------------------------------------------------------------ 0x30

def _gaps(coder, idx, pool_size: int, decoding: bool) -> None:
    k = len(idx)
    model = CentredUIntModel(256, 16)
    prev, fast, slow = -1, 0, 0   # fast / slow: 16 x running means of the buckets (weights 1/4, 1/8)
    for t in range(k):
        umax = pool_size - prev - (k - t)
        if umax < 1:
            raise _Stop(OUT_OF_RANGE)
        a = min((fast + 8) >> 4, 15)
        a2 = min((slow + 8) >> 4, 15)
        u = model.code(coder, 0 if decoding else int(idx[t]) - prev, umax, a2 * 16 + a, a2, a)
        coder.check()
        if u > umax:
            raise _Stop(OUT_OF_RANGE)
        b = _bitlen(u) - 1
        fast += (b * 16 - fast) >> 2
        slow += (b * 16 - slow) >> 3
        prev += u
        if decoding:
            idx[t] = prev


def gaps_encode(idx, pool_size, out):
    return _encode_with(_gaps, out, [int(v) for v in idx], int(pool_size))


def gaps_decode(data, pool_size, out):
    return _decode_with(_gaps, data, out, int(pool_size))


# ------------------------------------------------------------------------------------------------ 0x31

def _grouped(coder, idx, gstart, decoding: bool) -> None:
    k = len(idx)
    counts = CentredUIntModel(128, 16)
    gaps = CentredUIntModel(33, 33)
    t = n_prev = g_prev = 0
    for f in range(len(gstart) - 1):
        if t == k:
            break
        lo, hi = int(gstart[f]), int(gstart[f + 1])
        g = hi - lo
        nf = 0
        if not decoding:
            while t + nf < k and idx[t + nf] < hi:
                nf += 1
        nmax = min(g, k - t)
        e = (n_prev * g) // g_prev if g_prev > 0 else 0
        ce = min(_bitlen(e), 15)
        cb = ce * 8 + min(_bitlen(n_prev), 7)
        u = counts.code(coder, nf + 1, nmax + 1, cb, ce, ce)
        if u > nmax + 1:
            raise _Stop(OUT_OF_RANGE)
        nf = u - 1
        rk, rp, p = nf, g, lo - 1
        while rk > 0:
            if rk == rp:  # every remaining position is kept: nothing to code
                if decoding:
                    for s in range(rk):
                        idx[t + s] = p + 1 + s
                t += rk
                break
            q = _bitlen(rp // rk)
            u = gaps.code(coder, 0 if decoding else int(idx[t]) - p, rp - rk + 1, q, q, q - 1)
            if u > rp - rk + 1:
                raise _Stop(OUT_OF_RANGE)
            rp -= u
            rk -= 1
            p += u
            if decoding:
                idx[t] = p
            t += 1
        n_prev, g_prev = nf, g
        coder.check()
    if t != k:
        raise _Stop(COUNT)


def grouped_encode(idx, gstart, out):
    return _encode_with(_grouped, out, [int(v) for v in idx], [int(v) for v in gstart])


def grouped_decode(data, gstart, out):
    return _decode_with(_grouped, data, out, [int(v) for v in gstart])


# ------------------------------------------------------------------------------------------------ 0x32

def _density(coder, idx, pool_size: int, decoding: bool) -> None:
    model = CentredUIntModel(33, 33, (LIM_STATIONARY, LIM_STATIONARY))
    rk, rp, p = len(idx), pool_size, -1
    for t in range(len(idx)):
        if rk == rp:  # all remaining positions are kept
            if decoding:
                for s in range(rk):
                    idx[t + s] = p + 1 + s
            return
        q = _bitlen(rp // rk)
        u = model.code(coder, 0 if decoding else int(idx[t]) - p, rp - rk + 1, q, q, q - 1)
        coder.check()
        if u > rp - rk + 1:
            raise _Stop(OUT_OF_RANGE)
        rp, rk, p = rp - u, rk - 1, p + u
        if decoding:
            idx[t] = p


def density_encode(idx, pool_size, out):
    return _encode_with(_density, out, [int(v) for v in idx], int(pool_size))


def density_decode(data, pool_size, out):
    return _decode_with(_density, data, out, int(pool_size))


# ------------------------------------------------------------------------------------------------ 0x42

def _uniform(coder, labels, num_classes: int, decoding: bool) -> None:
    R = (1 << 32) // num_classes
    for t in range(len(labels)):
        lab = 0 if decoding else int(labels[t])
        if not 0 <= lab < num_classes:
            raise _Stop(OUT_OF_RANGE)
        if num_classes > 1:
            lab = coder.uniform(lab, num_classes, R)
        if decoding:
            labels[t] = lab
        coder.check()


def uniform_labels_encode(labels, num_classes, out):
    return _encode_with(_uniform, out, labels, int(num_classes))


def uniform_labels_decode(data, num_classes, out):
    return _decode_with(_uniform, data, out, int(num_classes))


# ------------------------------------------------------------------------------------------------ 0x43

DIRICHLET_MAX_SHIFT = 7


class DirichletTree:
    """Counts of the coded classes on a binary tree over [0, 2**L): a node's weight is its count times
    2**shift plus the number of classes below C it covers (the prior: 2**-shift per class)."""

    def __init__(self, num_classes: int, shift: int):
        self.C, self.shift = num_classes, shift
        self.L = _bitlen(num_classes - 1)
        self.count = {}

    def weight(self, node: int) -> int:
        depth = _bitlen(node) - 1
        span = 1 << (self.L - depth)
        classes = min(max(self.C - (node - (1 << depth)) * span, 0), span)
        return (self.count.get(node, 0) << self.shift) + classes

    def code(self, coder, lab: int) -> int:
        """Code one class id (docs/codecs/adaptive.md, section 7c); returns it."""
        node = 1
        path = [1]
        for s in range(self.L - 1, -1, -1):
            right = 2 * node + 1
            w_right = self.weight(right)
            bit = (lab >> s) & 1
            if w_right > 0:
                p = max(1, (w_right << 16) // self.weight(node))
                bit = coder.fixed(bit, p)
            node = 2 * node + bit
            path.append(node)
        for n in path:
            self.count[n] = self.count.get(n, 0) + 1
        return node - (1 << self.L)


def _dirichlet(coder, labels, num_classes: int, shift: int, decoding: bool) -> None:
    tree = DirichletTree(num_classes, shift)
    for t in range(len(labels)):
        lab = 0 if decoding else int(labels[t])
        if not 0 <= lab < num_classes:
            raise _Stop(OUT_OF_RANGE)
        lab = tree.code(coder, lab)
        if decoding:
            labels[t] = lab
        coder.check()


def dirichlet_labels_encode(labels, num_classes, shift, out):
    shift = int(shift)
    if not 0 <= shift <= DIRICHLET_MAX_SHIFT:
        return BAD_FIELD
    if out.shape[0] < 1:
        return OVERFLOW
    out[0] = shift
    n = _encode_with(_dirichlet, out[1:], labels, int(num_classes), shift)
    return n + 1 if n >= 0 else n


def dirichlet_labels_decode(data, num_classes, out):
    data = np.asarray(data)
    if data.shape[0] < 1:
        return TRUNCATED
    shift = int(data[0])
    if shift > DIRICHLET_MAX_SHIFT:
        return BAD_FIELD
    return _decode_with(_dirichlet, data[1:], out, int(num_classes), shift)


# ------------------------------------------------------------------------------------------ 0x40 / 0x41

class CandidateList:
    """Up to MAXLIST classes with counts, ordered by count, ties: most recently coded first."""

    def __init__(self):
        self.items = []  # [class, count] pairs

    def rank(self, label: int) -> int:
        for r, (c, _) in enumerate(self.items):
            if c == label:
                return r
        return -1

    def add(self, label: int, r: int) -> None:
        if r < 0:
            if len(self.items) == MAXLIST:
                self.items.pop()
            self.items.append([label, 0])
            r = len(self.items) - 1
        entry = self.items.pop(r)
        entry[1] += 1
        # insert before every entry whose count is <= the new count
        r2 = r
        while r2 > 0 and self.items[r2 - 1][1] <= entry[1]:
            r2 -= 1
        self.items.insert(r2, entry)

    def age(self) -> None:
        self.items = [[c, n >> 1] for c, n in self.items if n >> 1 > 0]


def _labels(coder, idx, labels, num_classes: int, gstart, grouped: bool, decoding: bool) -> None:
    L = _bitlen(num_classes - 1)
    escape = Contexts(128)
    ranks = UIntModel(128, 128)
    conditioned = (not grouped) and num_classes <= 512
    tree = Contexts(((num_classes + 1) if conditioned else 1) << L)
    cands = CandidateList()
    prev, f, infolder, r0, slow = -1, 0, 0, 1, 0
    nfold = len(gstart) - 1
    for t in range(len(idx)):
        i = int(idx[t])
        if grouped:
            newf = False
            while f + 1 < nfold and gstart[f + 1] <= i:
                f += 1
                newf = True
            if newf:
                infolder = 0
                cands = CandidateList()
            gq = min(_bitlen(infolder), 7)
        else:
            gb = _bitlen(i - prev) - 1
            if gb * 16 > slow + RESET_MARGIN:  # a gap far above the usual: probably a new folder
                cands = CandidateList()
            slow += (gb * 16 - slow) >> 3
            gq = min(gb, 7)
        prev = i
        lab = 0 if decoding else int(labels[t])
        r = -1
        if L > 0:
            D = len(cands.items)
            c = (min(_bitlen(D), 7) * 8 + gq) * 2 + r0
            esc = 1
            if D > 0:
                if not decoding:
                    r = cands.rank(lab)
                esc = coder.code(1 if r < 0 else 0, escape, c, LIM_FLAG)
                if not esc:
                    u = ranks.code(coder, r + 1, D, c, c)
                    if u > D:
                        raise _Stop(OUT_OF_RANGE)
                    r = u - 1
                    lab = cands.items[r][0]
            if esc:
                base = ((cands.items[0][0] + 1) << L) if (conditioned and D > 0) else 0
                node = 1
                for s in range(L - 1, -1, -1):
                    node = node * 2 + coder.code((lab >> s) & 1, tree, base + node, LIM_CLASS)
                lab = node - (1 << L)
                if lab >= num_classes:
                    raise _Stop(OUT_OF_RANGE)
                if decoding and D > 0 and cands.rank(lab) >= 0:  # never the encoder's output
                    raise _Stop(BAD_FIELD)
        coder.check()
        if decoding:
            labels[t] = lab
        r0 = 1 if r == 0 else 0
        if L > 0:
            cands.add(lab, r)
            if not grouped and cands.items[cands.rank(lab)][1] >= AGE_LIMIT:
                cands.age()
        infolder += 1


def labels_encode(idx, labels, num_classes, gstart, grouped, out):
    return _encode_with(_labels, out, idx, labels, int(num_classes), [int(v) for v in gstart], bool(grouped))


def labels_decode(data, idx, num_classes, gstart, grouped, out):
    return _decode_with(_labels, data, idx, out, int(num_classes), [int(v) for v in gstart], bool(grouped))
