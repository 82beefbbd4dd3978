"""A second, independent .pld 1.x reader, written from the spec alone.

Written on 2026-11-30 by an engineer who read only docs/FORMAT.md, docs/codecs/adaptive.md and
docs/vectors/ (READMEs, vectors, trace.txt), never plada_codec's code, as a test that the spec is
complete. It passed every golden vector at once; its questions became the spec clarifications of that day.
tests/spec/test_cleanroom.py runs it on the golden vectors and against plada_codec on random payloads.

Keep it independent: when it and plada_codec disagree, read the spec (FORMAT.md: "where they disagree,
this page is right and the code is a bug") and fix whichever is wrong, never this file from the code.
Plain Python and numpy (zstandard for zstd sections): slow, for tests only.
"""
import hashlib
import json
import struct

import numpy as np

MAGIC = b"\x89PLD\r\n\x1a\n"
M32 = 0xFFFFFFFF


# ---------------------------------------------------------------- errors
class PladaError(Exception):
    pass


class TruncatedPayload(PladaError, EOFError):
    pass


class CorruptPayload(PladaError, ValueError):
    pass


class UnsupportedFeature(PladaError, ValueError):
    pass


class LimitExceeded(PladaError, ValueError):
    pass


class PoolMismatch(PladaError, ValueError):
    pass


DEFAULT_LIMITS = dict(payload=256 << 20, k=1 << 26, class_names=16 << 20, meta=64 << 10)


def bitlen(x):
    return int(x).bit_length()


# ---------------------------------------------------------------- primitives
def read_varint(buf, pos, end):
    """Unsigned LEB128, shortest form, at most 5 bytes. Returns (value, newpos)."""
    val = 0
    for n in range(5):
        if pos >= end:
            raise TruncatedPayload("varint runs past the end of its section")
        b = buf[pos]
        pos += 1
        val |= (b & 0x7F) << (7 * n)
        if not b & 0x80:
            if b == 0 and n > 0:
                raise CorruptPayload("varint not in shortest form")
            return val, pos
    raise CorruptPayload("varint longer than 5 bytes")


class BitReader:
    """LSB-first bit stream over buf[start:end]."""

    def __init__(self, buf, start, end):
        self.buf, self.pos, self.end, self.start = buf, start * 8, end * 8, start

    def read(self, w):
        if w == 0:
            return 0
        if self.pos + w > self.end:
            raise TruncatedPayload("bit stream runs past the end of its section")
        v = 0
        for i in range(w):
            p = self.pos + i
            v |= ((self.buf[p >> 3] >> (p & 7)) & 1) << i
        self.pos += w
        return v

    def bit(self):
        return self.read(1)

    def finish(self):
        """Zero padding to a byte boundary, then nothing after it."""
        pad = (-self.pos) % 8
        if self.pos + pad > self.end:
            raise TruncatedPayload("bit stream")
        if self.read(pad) != 0:
            raise CorruptPayload("non-zero padding bits")
        if self.pos != self.end:
            raise CorruptPayload("bytes left after the bit stream")


# ---------------------------------------------------------------- static codecs
def dec_packed_delta(buf, s, e, k, N):
    gaps = []
    pos = s
    remaining = k
    while remaining > 0:
        n_b = min(128, remaining)
        if pos >= e:
            raise TruncatedPayload("packed-delta block header")
        w = buf[pos]
        pos += 1
        if w > 32:
            raise CorruptPayload("packed-delta width > 32")
        r, pos = read_varint(buf, pos, e)
        if r >= 1 << 32:
            raise CorruptPayload("packed-delta reference >= 2^32")
        nbytes = (n_b * w + 7) // 8
        if pos + nbytes > e:
            raise TruncatedPayload("packed-delta values")
        br = BitReader(buf, pos, pos + nbytes)
        for _ in range(n_b):
            gaps.append(br.read(w) + r)
        br.finish()
        pos += nbytes
        remaining -= n_b
    if pos != e:
        raise CorruptPayload("bytes after the last packed-delta block")
    return gaps_to_indices(gaps, N)


def gaps_to_indices(gaps, N):
    out = []
    p = -1
    for g in gaps:
        p = p + 1 + g
        if p >= N:
            raise CorruptPayload("index %d >= N = %d" % (p, N))
        out.append(p)
    return out


def dec_bitmap(buf, s, e, k, N):
    if e - s != (N + 7) // 8:
        raise CorruptPayload("bitmap length != ceil(N/8)")
    out = []
    arr = np.frombuffer(bytes(buf[s:e]), dtype=np.uint8)
    bits = np.unpackbits(arr, bitorder="little")
    if bits[N:].any():
        raise CorruptPayload("bitmap padding bits not zero")
    out = np.nonzero(bits[:N])[0].tolist()
    if len(out) != k:
        raise CorruptPayload("bitmap has %d set bits, k = %d" % (len(out), k))
    return out


def dec_rice(buf, s, e, k, N):
    br = BitReader(buf, s, e)
    gaps = []
    remaining = k
    while remaining > 0:
        n_b = min(128, remaining)
        r = br.read(5)
        for _ in range(n_b):
            q = 0
            while br.bit():
                q += 1
                if (q << r) >= 1 << 32:
                    raise CorruptPayload("rice gap >= 2^32")
            g = (q << r) | br.read(r)
            gaps.append(g)
        remaining -= n_b
    br.finish()
    return gaps_to_indices(gaps, N)


def dec_packed_labels(buf, s, e, k, C):
    w = bitlen(C - 1)
    if e - s != (k * w + 7) // 8:
        raise CorruptPayload("packed-labels length != ceil(k w / 8)")
    br = BitReader(buf, s, e)
    out = [br.read(w) for _ in range(k)]
    br.finish()
    for v in out:
        if v >= C:
            raise CorruptPayload("label %d >= C" % v)
    return out


class RansDecoder:
    """rANS of FORMAT §6.6 / §6.4b: 16-bit slots, L = 2^23, byte renorm, state LE u32."""

    def __init__(self, buf, s, e):
        if e - s < 4:
            raise TruncatedPayload("rANS stream shorter than 4 bytes")
        self.buf, self.pos, self.end = buf, s + 4, e
        self.x = struct.unpack_from("<I", buf, s)[0]

    def advance(self, start, freq, slot):
        x = freq * (self.x >> 16) + slot - start
        while x < (1 << 23):
            if self.pos >= self.end:
                raise TruncatedPayload("rANS stream needs more bytes")
            x = (x << 8) | self.buf[self.pos]
            self.pos += 1
        self.x = x

    def slot(self):
        return self.x & 0xFFFF

    def finish(self):
        if self.x != 1 << 23:
            raise CorruptPayload("rANS final state != 2^23")
        if self.pos != self.end:
            raise CorruptPayload("bytes left after the rANS stream")


def dec_rans_labels(buf, s, e, k, C):
    if k == 0:
        if e != s:
            raise CorruptPayload("rans-labels section not empty for k = 0")
        return []
    pos = s
    m, pos = read_varint(buf, pos, e)
    if not 1 <= m <= C:
        raise CorruptPayload("rans-labels m out of range")
    if m < C:
        labels = []
        prev = -1
        for _ in range(m):
            d, pos = read_varint(buf, pos, e)
            prev = prev + 1 + d
            if prev >= C:
                raise CorruptPayload("rans-labels table label >= C")
            labels.append(prev)
    else:
        labels = list(range(C))
    freqs = []
    for _ in range(m):
        f1, pos = read_varint(buf, pos, e)
        freqs.append(f1 + 1)
    if sum(freqs) != 1 << 16:
        raise CorruptPayload("rans-labels frequencies do not sum to 2^16")
    cum = [0]
    for f in freqs:
        cum.append(cum[-1] + f)
    # slot -> symbol lookup
    lut = np.repeat(np.arange(m, dtype=np.int64), freqs)
    dec = RansDecoder(buf, pos, e)
    out = []
    for _ in range(k):
        slot = dec.slot()
        j = int(lut[slot])
        out.append(labels[j])
        dec.advance(cum[j], freqs[j], slot)
    dec.finish()
    return out


# ---------------------------------------------------------------- geometric-gaps 0x13
_GEO_TABLES = None


def geo_tables():
    global _GEO_TABLES
    if _GEO_TABLES is None:
        tabs = []
        for q in range(1, 13):
            for f in range(8):
                s = max(0, q - 4)
                a = (1 << 31) - (1 << 35) // ((17 + 2 * f) << (q - 1))
                for _ in range(s):
                    a = (a * a) >> 31
                t = 1 << 31
                F = []
                for j in range(63):
                    t2 = (t * a) >> 31
                    F.append(max(1, (t - t2) >> 15))
                    t = t2
                F.append(max(1, t >> 15))
                F[0] += (1 << 16) - sum(F)
                assert F[0] >= 1
                cum = [0]
                for x in F:
                    cum.append(cum[-1] + x)
                lut = np.repeat(np.arange(64, dtype=np.int64), F)
                tabs.append((F, cum, lut))
        _GEO_TABLES = tabs
    return _GEO_TABLES


def dec_geometric(buf, s, e, k, N):
    if k == 0:
        if e != s:
            raise CorruptPayload("geometric-gaps section not empty for k = 0")
        return []
    tabs = geo_tables()
    dec = RansDecoder(buf, s, e)
    out = []
    p = -1
    for t in range(k):
        rp = N - 1 - p
        rk = k - t
        if rk == rp:
            out.extend(range(p + 1, N))
            break
        if rk > rp:
            raise CorruptPayload("geometric-gaps: more indices left than positions")
        q = bitlen(rp // rk)
        f = 0
        for j in range(7, -1, -1):
            if 8 * rp >= (8 + j) * rk * (1 << (q - 1)):
                f = j
                break
        F, cum, lut = tabs[(min(q, 12) - 1) * 8 + f]
        sh = max(0, q - 4)
        umax = rp - rk + 1
        esc = 0
        while True:
            slot = dec.slot()
            sym = int(lut[slot])
            dec.advance(cum[sym], F[sym], slot)
            if sym == 63:
                esc += 1
                if (63 * esc) << sh >= umax:
                    raise CorruptPayload("geometric-gaps: too many escapes")
                continue
            break
        v = 63 * esc + sym
        w = 0
        if sh:
            m = (sh + 15) // 16
            widths = [sh - 16 * (m - 1)] + [16] * (m - 1)
            for b in widths:
                slot = dec.slot()
                c = slot >> (16 - b)
                dec.advance(c << (16 - b), 1 << (16 - b), slot)
                w = (w << b) | c
        u = (v << sh) + w + 1
        if u > umax:
            raise CorruptPayload("geometric-gaps: gap > umax")
        p += u
        out.append(p)
    dec.finish()
    return out


# ---------------------------------------------------------------- binary arithmetic coder (adaptive.md §2)
class ArithDecoder:
    def __init__(self, buf, s, e):
        self.buf, self.pos, self.end = buf, s, e
        self.overrun = 0
        self.x1, self.x2 = 0, M32
        x = 0
        for _ in range(4):
            x = (x << 8) | self._byte()
        self.x = x

    def _byte(self):
        if self.pos < self.end:
            b = self.buf[self.pos]
        else:
            b = 0
            self.overrun += 1
        self.pos += 1
        return b

    def _renorm(self):
        while ((self.x1 ^ self.x2) & 0xFF000000) == 0:
            self.x = ((self.x << 8) & M32) | self._byte()
            self.x1 = (self.x1 << 8) & M32
            self.x2 = ((self.x2 << 8) & M32) | 0xFF

    def decode(self, p):
        x1, x2 = self.x1, self.x2
        r = x2 - x1
        xmid = x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16)
        bit = 1 if self.x <= xmid else 0
        if bit:
            self.x2 = xmid
        else:
            self.x1 = xmid + 1
        self._renorm()
        return bit

    def uniform(self, C, R):
        while self.x2 - self.x1 < (1 << 16):
            B = self.x2 & 0xFF000000
            if B - self.x1 > self.x2 - B:
                self.x2 = B - 1
            else:
                self.x1 = B
            self._renorm()
        if not self.x1 <= self.x <= self.x2:
            raise CorruptPayload("uniform-labels: value outside the coder bounds")
        step = ((self.x2 - self.x1) * R) >> 32
        v = min((self.x - self.x1) // step, C - 1)
        self.x1 = self.x1 + v * step
        if v < C - 1:
            self.x2 = self.x1 + step - 1
        self._renorm()
        return v

    def finish(self):
        # adaptive.md §1: ran out -> TruncatedPayload, bytes left -> CorruptPayload.
        if self.overrun:
            raise TruncatedPayload("coder stream ends before the decoder has read all it needs")
        if self.pos != self.end:
            raise CorruptPayload("bytes left after the last value")
        # adaptive.md §2, the end check (added with that text the same day): the flushed x1
        if self.x != self.x1:
            raise CorruptPayload("end check: x != x1")


class Model:
    """Table of adaptive bit contexts (p, n) with a count limit."""

    def __init__(self, limit):
        self.limit = limit
        self.p = {}
        self.n = {}

    def decode(self, ac, ctx):
        p = self.p.get(ctx, 32768)
        n = self.n.get(ctx, 0)
        bit = ac.decode(p)
        div = (1 << 17) // (2 * n + 3)
        if bit:
            p = min(65504, p + (((65536 - p) * div) >> 16))
        else:
            p = max(32, p - ((p * div) >> 16))
        self.p[ctx] = p
        self.n[ctx] = min(n + 1, self.limit)
        return bit


def dec_mantissa(ac, mtab, cm, b, fixed_low):
    """b bits below the leading 1, MSB first; top two on a tree, rest on base+4+s or fixed."""
    base = (cm * 32 + b) * 36
    node = 1
    v = 1
    for i in range(b):
        if node < 4:
            bit = mtab.decode(ac, base + node)
            node = 2 * node + bit
        elif fixed_low:
            bit = ac.decode(32768)
        else:
            s = b - 1 - i  # ASSUMPTION: "position s" = bit position (0 = LSB)
            bit = mtab.decode(ac, base + 4 + s)
        v = (v << 1) | bit
    return v


def dec_uint(ac, btab, mtab, umax, cb, cm):
    bmax = bitlen(umax) - 1
    b = bmax
    for j in range(bmax):
        if btab.decode(ac, cb * 32 + j):
            b = j
            break
    u = dec_mantissa(ac, mtab, cm, b, fixed_low=False)
    if u > umax:
        raise CorruptPayload("value %d above its bound %d" % (u, umax))
    return u


def dec_uint_c(ac, btab, mtab, umax, j0, cb, cm):
    bmax = bitlen(umax) - 1
    j0 = min(j0, bmax)
    up = btab.decode(ac, cb * 64 + 63) if j0 > 0 else 1
    if up:
        b = bmax
        j = j0
        while j < bmax:
            if btab.decode(ac, cb * 64 + j):
                b = j
                break
            j += 1
    else:
        b = 0
        j = j0 - 1
        while j > 0:
            if btab.decode(ac, cb * 64 + 32 + j):
                b = j
                break
            j -= 1
    u = dec_mantissa(ac, mtab, cm, b, fixed_low=True)
    if u > umax:
        raise CorruptPayload("value %d above its bound %d" % (u, umax))
    return u


# ---------------------------------------------------------------- adaptive index codecs
def dec_adaptive_gaps(buf, s, e, k, N):
    ac = ArithDecoder(buf, s, e)
    btab, mtab = Model(60), Model(250)
    prev, fast, slow = -1, 0, 0
    out = []
    for t in range(k):
        umax = N - prev - (k - t)
        if umax < 1:
            raise CorruptPayload("adaptive-gaps: umax < 1")
        a = min((fast + 8) >> 4, 15)
        a2 = min((slow + 8) >> 4, 15)
        u = dec_uint_c(ac, btab, mtab, umax, a, a2 * 16 + a, a2)
        b = bitlen(u) - 1
        fast += (16 * b - fast) >> 2
        slow += (16 * b - slow) >> 3
        prev += u
        out.append(prev)
    ac.finish()
    return out


def _folder_gaps(ac, btab, mtab, rk, rp, p, out):
    while rk > 0:
        if rk == rp:
            out.extend(range(p + 1, p + 1 + rk))
            return
        q = bitlen(rp // rk)
        u = dec_uint_c(ac, btab, mtab, rp - rk + 1, q - 1, q, q)
        rp -= u
        rk -= 1
        p += u
        out.append(p)


def dec_adaptive_gaps_grouped(buf, s, e, k, N, groups):
    check_groups(groups, N)
    ac = ArithDecoder(buf, s, e)
    cbt, cmt, gbt, gmt = Model(60), Model(250), Model(60), Model(250)
    t = 0
    n_prev = g_prev = 0
    start = 0
    out = []
    for g in groups:
        if t >= k:
            break
        nmax = min(g, k - t)
        e_ = (n_prev * g) // g_prev if g_prev > 0 else 0
        ce = min(bitlen(e_), 15)
        n = dec_uint_c(ac, cbt, cmt, nmax + 1, ce, ce * 8 + min(bitlen(n_prev), 7), ce) - 1
        _folder_gaps(ac, gbt, gmt, n, g, start - 1, out)
        t += n
        n_prev, g_prev = n, g
        start += g
    if t < k:
        raise CorruptPayload("adaptive-gaps-grouped: folders ran out before k indices")
    ac.finish()
    return out


def dec_adaptive_gaps_density(buf, s, e, k, N):
    ac = ArithDecoder(buf, s, e)
    btab, mtab = Model(255), Model(255)
    out = []
    _folder_gaps(ac, btab, mtab, k, N, -1, out)
    ac.finish()
    return out


def check_groups(groups, N):
    if groups is None:
        raise PoolMismatch("codec needs the pool's folder sizes")
    if any(g <= 0 for g in groups) or sum(groups) != N:
        raise PoolMismatch("folder sizes do not match the pool size")


# ---------------------------------------------------------------- adaptive label codecs
def dec_adaptive_labels(buf, s, e, k, C, indices, groups=None, grouped=False):
    if grouped:
        check_groups(groups, sum(groups) if groups else 0)
    ac = ArithDecoder(buf, s, e)
    L = bitlen(C - 1)
    out = []
    if C == 1:
        ac.finish()
        return [0] * k
    esct, treet, rbt, rmt = Model(120), Model(250), Model(60), Model(250)
    lst = []  # [class, count], most-counted first
    r0 = 1
    slow = 0
    if grouped:
        bounds = np.cumsum(groups)
        folder_of = np.searchsorted(bounds, np.asarray(indices, dtype=np.int64), side="right")
    cur_folder = -1
    in_folder = 0
    prev_idx = -1
    for t in range(k):
        if not grouped:
            gb = bitlen(indices[t] - prev_idx) - 1
            prev_idx = indices[t]
            if 16 * gb > slow + 80:
                lst = []
            slow += (16 * gb - slow) >> 3
            g = min(gb, 7)
        else:
            fo = int(folder_of[t])
            if fo != cur_folder:  # ASSUMPTION: "idx[t] starts a new folder" = first kept index of its folder
                lst = []
                cur_folder = fo
                in_folder = 0
            g = min(bitlen(in_folder), 7)
        D = len(lst)
        c = (min(bitlen(D), 7) * 8 + g) * 2 + r0
        esc = 1
        if D > 0:
            esc = esct.decode(ac, c)
        if not esc:
            r = dec_uint(ac, rbt, rmt, D, c, c) - 1
            cls = lst[r][0]
            pos = r
        else:
            base = ((lst[0][0] + 1) << L) if (not grouped and C <= 512 and D > 0) else 0
            node = 1
            for _ in range(L):
                node = 2 * node + treet.decode(ac, base + node)
            cls = node - (1 << L)
            if cls >= C:
                raise CorruptPayload("class %d >= C" % cls)
            if any(e[0] == cls for e in lst):  # adaptive.md §7: an escape never names a listed class
                raise CorruptPayload("escaped class %d is in the list" % cls)
            if len(lst) >= 12:
                lst[-1] = [cls, 0]
            else:
                lst.append([cls, 0])
            pos = len(lst) - 1
            r = -1
        out.append(cls)
        r0 = 1 if r == 0 else 0
        ent = lst.pop(pos)
        ent[1] += 1
        i = pos
        while i > 0 and lst[i - 1][1] <= ent[1]:
            i -= 1
        lst.insert(i, ent)
        if not grouped and ent[1] >= 4:
            lst = [[cl, n >> 1] for cl, n in lst if (n >> 1) > 0]
        in_folder += 1
    ac.finish()
    return out


def dec_uniform_labels(buf, s, e, k, C):
    ac = ArithDecoder(buf, s, e)
    if C == 1:
        ac.finish()
        return [0] * k
    R = (1 << 32) // C
    out = [ac.uniform(C, R) for _ in range(k)]
    ac.finish()
    return out


def dec_dirichlet_labels(buf, s, e, k, C):
    if e - s < 1:
        raise TruncatedPayload("dirichlet-labels: missing parameter byte")
    a = buf[s]
    if a > 7:
        raise CorruptPayload("dirichlet-labels: a > 7")
    ac = ArithDecoder(buf, s + 1, e)
    if C == 1:
        ac.finish()
        return [0] * k
    L = bitlen(C - 1)
    cnt = [0] * (1 << (L + 1))

    def covered(node):
        d = bitlen(node) - 1
        lo = (node - (1 << d)) << (L - d)
        hi = (node - (1 << d) + 1) << (L - d)
        return max(0, min(hi, C) - lo)

    cov = [0] + [covered(nd) for nd in range(1, 1 << (L + 1))]
    out = []
    for _ in range(k):
        node = 1
        for _d in range(L):
            wr = (cnt[2 * node + 1] << a) + cov[2 * node + 1]
            if wr > 0:
                wn = (cnt[node] << a) + cov[node]
                p = max(1, (wr << 16) // wn)
                bit = ac.decode(p)
            else:
                bit = 0
            cnt[node] += 1
            node = 2 * node + bit
        cnt[node] += 1
        v = node - (1 << L)
        if v >= C:
            raise CorruptPayload("class >= C")
        out.append(v)
    ac.finish()
    return out


# ---------------------------------------------------------------- codec registry
INDEX_CODECS = {0x10: "packed-delta", 0x11: "bitmap", 0x12: "rice-gaps", 0x13: "geometric-gaps",
                0x30: "adaptive-gaps", 0x31: "adaptive-gaps-grouped", 0x32: "adaptive-gaps-density"}
LABEL_CODECS = {0x20: "packed-labels", 0x21: "rans-labels", 0x40: "adaptive-labels",
                0x41: "adaptive-labels-grouped", 0x42: "uniform-labels", 0x43: "dirichlet-labels"}
BYTE_CODECS = {0x00: "raw", 0x01: "zstd"}
GROUP_CODECS = {0x31, 0x41}


def decode_index_stream(codec, buf, k, N, groups=None, s=0, e=None):
    e = len(buf) if e is None else e
    if codec == 0x10:
        return dec_packed_delta(buf, s, e, k, N)
    if codec == 0x11:
        return dec_bitmap(buf, s, e, k, N)
    if codec == 0x12:
        return dec_rice(buf, s, e, k, N)
    if codec == 0x13:
        return dec_geometric(buf, s, e, k, N)
    if codec == 0x30:
        return dec_adaptive_gaps(buf, s, e, k, N)
    if codec == 0x31:
        return dec_adaptive_gaps_grouped(buf, s, e, k, N, groups)
    if codec == 0x32:
        return dec_adaptive_gaps_density(buf, s, e, k, N)
    raise UnsupportedFeature("unknown INDICES codec 0x%04x" % codec)


def decode_label_stream(codec, buf, k, C, indices=None, groups=None, s=0, e=None):
    e = len(buf) if e is None else e
    if codec == 0x20:
        return dec_packed_labels(buf, s, e, k, C)
    if codec == 0x21:
        return dec_rans_labels(buf, s, e, k, C)
    if codec == 0x40:
        return dec_adaptive_labels(buf, s, e, k, C, indices)
    if codec == 0x41:
        return dec_adaptive_labels(buf, s, e, k, C, indices, groups, grouped=True)
    if codec == 0x42:
        return dec_uniform_labels(buf, s, e, k, C)
    if codec == 0x43:
        return dec_dirichlet_labels(buf, s, e, k, C)
    raise UnsupportedFeature("unknown LABELS codec 0x%04x" % codec)


def decode_stream(codec, data, pool_size, num_classes=1, indices=None, groups=None, k=None):
    """Raw codec stream (compact vectors). Index codecs need k (or indices for len)."""
    buf = bytes(data)
    if codec in INDEX_CODECS:
        if k is None:
            k = len(indices)
        return decode_index_stream(codec, buf, k, pool_size, groups)
    return decode_label_stream(codec, buf, len(indices), num_classes, indices, groups)


# ---------------------------------------------------------------- byte sections
def dec_bytes(codec, buf, s, e, raw_length, limit, what):
    if raw_length > limit:
        raise LimitExceeded("%s: raw_length %d exceeds the limit %d" % (what, raw_length, limit))
    if codec == 0x00:
        if e - s != raw_length:
            raise CorruptPayload("%s: raw encoded_length != raw_length" % what)
        return bytes(buf[s:e])
    if codec == 0x01:
        import zstandard
        frame = bytes(buf[s:e])
        if len(frame) >= 4 and struct.unpack_from("<I", frame)[0] & ~0xF == 0x184D2A50:  # FORMAT §6.1
            raise CorruptPayload("%s: a skippable frame" % what)
        try:
            fp = zstandard.get_frame_parameters(frame)
        except zstandard.ZstdError as ex:
            raise CorruptPayload("%s: bad zstd frame header: %s" % (what, ex))
        if fp.content_size in (zstandard.CONTENTSIZE_UNKNOWN, zstandard.CONTENTSIZE_ERROR):
            raise CorruptPayload("%s: zstd frame does not declare its content size" % what)
        if fp.content_size != raw_length:
            raise CorruptPayload("%s: zstd content size != raw_length" % what)
        if fp.window_size > 8 << 20:
            raise CorruptPayload("%s: zstd window above 8 MiB" % what)
        d = zstandard.ZstdDecompressor(max_window_size=8 << 20).decompressobj()
        try:
            out = d.decompress(frame)
        except zstandard.ZstdError as ex:
            raise CorruptPayload("%s: zstd: %s" % (what, ex))
        if not d.eof:
            raise TruncatedPayload("%s: zstd frame incomplete" % what)
        if d.unused_data:
            raise CorruptPayload("%s: bytes after the zstd frame" % what)
        if len(out) != raw_length:
            raise CorruptPayload("%s: zstd output size != raw_length" % what)
        return out
    raise UnsupportedFeature("codec 0x%04x" % codec)


# ---------------------------------------------------------------- container
SEC_INDICES, SEC_LABELS, SEC_NAMES, SEC_META, SEC_JOINT = 1, 2, 3, 4, 5
KNOWN_TYPES = {1: True, 2: True, 3: False, 4: False, 5: True}  # type -> critical flag required
STREAM_TYPES = {1, 2, 5}


def decode_container(data, limits=None, pool=None):
    """pool: optional dict(size=N, sha256=bytes32, groups=[...])."""
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    buf = bytes(data)
    n = len(buf)
    # 1 magic
    if n < 8:
        if buf != MAGIC[:n]:
            raise CorruptPayload("bad magic")
    elif buf[:8] != MAGIC:
        raise CorruptPayload("bad magic")
    # 2 minimal size
    if n < 60:
        raise TruncatedPayload("file of %d bytes is shorter than 60" % n)
    # 3 total_length
    total = struct.unpack_from("<I", buf, 12)[0]
    if total > lim["payload"]:
        raise LimitExceeded("total_length %d exceeds the payload limit" % total)
    if n < total:
        raise TruncatedPayload("file has %d bytes, total_length says %d" % (n, total))
    if n > total:
        raise CorruptPayload("%d bytes after the declared end" % (n - total))
    # 4 digest
    if hashlib.sha256(buf[:total - 32]).digest() != buf[total - 32:]:
        raise CorruptPayload("SHA-256 trailer mismatch")
    # 5 major
    major, minor = buf[8], buf[9]
    if major != 1:
        raise UnsupportedFeature("format version %d.%d" % (major, minor))
    # 6 header
    flags, _, N, k, C, S, P = struct.unpack_from("<HIIIHBB", buf, 10)
    if flags & 0xFFFE:
        raise CorruptPayload("reserved header flag bits set")
    if N < 1:
        raise CorruptPayload("N = 0")
    if k > N:
        raise CorruptPayload("k = %d exceeds N = %d" % (k, N))
    if C < 1:
        raise CorruptPayload("C = 0")
    if not 1 <= S <= 16:
        raise CorruptPayload("S = %d out of 1..16" % S)
    if "N" in lim and N > lim["N"]:
        raise LimitExceeded("N exceeds the limit")
    if k > lim["k"]:
        raise LimitExceeded("k = %d exceeds the limit" % k)
    if "C" in lim and C > lim["C"]:
        raise LimitExceeded("C exceeds the limit")
    has_pool = bool(flags & 1)
    if not has_pool and P:
        raise CorruptPayload("P != 0 without a pool block")
    H = 28
    pool_info = None
    if has_pool:
        H = 28 + P + 32
        if H > total - 32:
            raise CorruptPayload("pool block outside the file")
        try:
            name = buf[28:28 + P].decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptPayload("pool name not valid UTF-8")
        pool_info = {"name": name, "size": N, "sha256": buf[28 + P:H].hex()}
    # 7 section table
    if H + 12 * S > total - 32:
        raise CorruptPayload("section table outside the file")
    entries = []
    prev_type = -1
    for j in range(S):
        typ, sflags, codec, raw_len, enc_len = struct.unpack_from("<BBHII", buf, H + 12 * j)
        if typ <= prev_type:
            raise CorruptPayload("section types not in ascending order")
        prev_type = typ
        if sflags & 0xFE:
            raise CorruptPayload("reserved section flag bits set")
        crit = bool(sflags & 1)
        if typ in KNOWN_TYPES and crit != KNOWN_TYPES[typ]:
            raise CorruptPayload("section type %d has the wrong critical flag" % typ)
        entries.append(dict(type=typ, critical=crit, codec=codec, raw_length=raw_len,
                            encoded_length=enc_len))
    pos = H + 12 * S
    for ent in entries:
        ent["_start"] = pos
        pos += ent["encoded_length"]
        ent["_end"] = pos
    if pos != total - 32:
        raise CorruptPayload("sections do not tile the space between table and trailer")
    # 8 unknown / required / lengths / k bound / pool
    skipped = []
    by_type = {}
    for ent in entries:
        typ, codec = ent["type"], ent["codec"]
        if typ not in KNOWN_TYPES:
            if ent["critical"]:
                raise UnsupportedFeature("unknown critical section type %d" % typ)
            skipped.append([typ, codec, ent["encoded_length"]])
            continue
        allowed = {1: INDEX_CODECS, 2: LABEL_CODECS, 3: BYTE_CODECS, 4: BYTE_CODECS, 5: {}}[typ]
        if codec not in allowed:
            known_anywhere = codec in INDEX_CODECS or codec in LABEL_CODECS or codec in BYTE_CODECS
            if ent["critical"]:
                if known_anywhere:  # ASSUMPTION: a known codec in the wrong kind of section
                    raise CorruptPayload("codec 0x%04x cannot code section type %d" % (codec, typ))
                raise UnsupportedFeature("unknown codec 0x%04x in section type %d" % (codec, typ))
            skipped.append([typ, codec, ent["encoded_length"]])
            continue
        by_type[typ] = ent
    has_il = SEC_INDICES in by_type and SEC_LABELS in by_type
    if SEC_JOINT in by_type:
        if SEC_INDICES in by_type or SEC_LABELS in by_type:
            raise CorruptPayload("JOINT together with INDICES/LABELS")
    elif not has_il:
        raise CorruptPayload("INDICES and LABELS sections required")
    for typ in STREAM_TYPES & set(by_type):
        if by_type[typ]["raw_length"] != k:
            raise CorruptPayload("section %d raw_length != k" % typ)
    ie = by_type[SEC_INDICES]
    cap = {0x10: 64 * ie["encoded_length"], 0x11: 8 * ie["encoded_length"],
           0x12: 8 * ie["encoded_length"]}.get(ie["codec"], N)
    if k > cap:
        raise CorruptPayload("k = %d exceeds what the INDICES section can hold (%d)" % (k, cap))
    needs_groups = any(by_type[t]["codec"] in GROUP_CODECS for t in (SEC_INDICES, SEC_LABELS))
    groups = None
    if pool is not None or needs_groups:
        if pool is None:
            raise PoolMismatch("the codecs need the pool's folders; no pool given")
        if pool["size"] != N or (pool_info is not None and pool["sha256"] != bytes.fromhex(pool_info["sha256"])):
            raise PoolMismatch("payload pool (N=%d) does not match the given pool (N=%d)" % (N, pool["size"]))
        groups = pool.get("groups")
    # 9 streams
    indices = decode_index_stream(ie["codec"], buf, k, N, groups, ie["_start"], ie["_end"])
    le = by_type[SEC_LABELS]
    labels = decode_label_stream(le["codec"], buf, k, C, indices, groups, le["_start"], le["_end"])
    if len(indices) != k or len(labels) != k:
        raise CorruptPayload("stream length mismatch")
    for a_, b_ in zip(indices, indices[1:]):
        if b_ <= a_:
            raise CorruptPayload("indices not strictly increasing")
    if indices and (indices[0] < 0 or indices[-1] >= N):
        raise CorruptPayload("index out of [0, N)")
    if any(l_ >= C for l_ in labels):
        raise CorruptPayload("label >= C")
    class_names = meta = None
    if SEC_NAMES in by_type:
        ent = by_type[SEC_NAMES]
        raw = dec_bytes(ent["codec"], buf, ent["_start"], ent["_end"], ent["raw_length"],
                        lim["class_names"], "class names")
        try:
            txt = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptPayload("class names not valid UTF-8")
        class_names = txt.split("\n")
        if len(class_names) != C or any(not c or "\0" in c for c in class_names):
            raise CorruptPayload("class names: need %d non-empty names without NUL" % C)
    if SEC_META in by_type:
        ent = by_type[SEC_META]
        raw = dec_bytes(ent["codec"], buf, ent["_start"], ent["_end"], ent["raw_length"],
                        lim["meta"], "meta")
        def no_constant(name):  # FORMAT §5: RFC 8259, no NaN / Infinity
            raise ValueError(name)

        def unique(pairs):  # FORMAT §5: no repeated member names
            if len({key for key, _ in pairs}) != len(pairs):
                raise ValueError("repeated member name")
            return dict(pairs)

        try:
            meta = json.loads(raw.decode("utf-8"), parse_constant=no_constant, object_pairs_hook=unique)
        except (UnicodeDecodeError, ValueError):
            raise CorruptPayload("meta is not UTF-8 JSON")
        if not isinstance(meta, dict):
            raise CorruptPayload("meta is not a JSON object")
    sections = [{kk: v for kk, v in ent.items() if not kk.startswith("_")} for ent in entries]
    return dict(version=[major, minor], pool_size=N, num_classes=C, kept=k,
                indices=np.asarray(indices, dtype=np.uint32), labels=np.asarray(labels, dtype=np.uint16),
                class_names=class_names, meta=meta, pool=pool_info, sections=sections,
                skipped_sections=skipped)
