"""Label codec 0x0021 "rans-labels": static order-0 rANS with a transmitted frequency table
(docs/FORMAT.md, "rans-labels").

Section = table, then the rANS stream.  Table: varint m (distinct symbols, >= 1); if m < C, m symbol ids
as varint deltas (first id, then id - previous id - 1); then m varints f - 1, frequencies scaled so
they sum to exactly 2**16.
"""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from ..errors import CorruptPayload
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8, read_varint, run_decode, varint_bytes

SCALE = 16
TOTAL = 1 << SCALE


def quantize(counts: np.ndarray) -> np.ndarray:
    """Scale positive ``counts`` to frequencies >= 1 summing to 2**16 (deterministic)."""
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    freq = np.maximum(1, (counts * TOTAL) // total)
    diff = TOTAL - int(freq.sum())
    # hand out / take back the remainder, largest counts first (stable order)
    order = np.argsort(-counts, kind="stable")
    i = 0
    while diff != 0:
        s = order[i % len(order)]
        if diff > 0:
            freq[s] += 1
            diff -= 1
        elif freq[s] > 1:
            freq[s] -= 1
            diff += 1
        i += 1
    return freq


class RansLabels(Codec):
    codec_id = 0x0021
    name = "rans-labels"
    section = SectionType.LABELS
    encode_cost = 2
    fast_decode = True

    def encode(self, labels: np.ndarray, ctx: StreamContext):
        k = len(labels)
        if k == 0:
            return b""
        counts = np.bincount(labels, minlength=ctx.num_classes)
        present = np.flatnonzero(counts)
        m = len(present)
        freq_present = quantize(counts[present])
        table = bytearray(varint_bytes(m))
        if m < ctx.num_classes:
            prev = -1
            for s in present:
                table += varint_bytes(int(s) - prev - 1)
                prev = int(s)
        for f in freq_present:
            table += varint_bytes(int(f) - 1)
        freq = np.zeros(ctx.num_classes, dtype=np.uint32)
        freq[present] = freq_present
        cum = np.zeros(ctx.num_classes, dtype=np.uint32)
        cum[1:] = np.cumsum(freq)[:-1]
        out = np.zeros(2 * k + 32, dtype=np.uint8)
        n = kernel("rans.rans_encode")(labels.astype(np.int64), freq, cum, out)
        return bytes(table) + out[:n].tobytes()

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        buf = as_u8(data)
        if ctx.count == 0:
            if buf.shape[0]:
                raise CorruptPayload("rans-labels: bytes in the section of an empty payload (k = 0)")
            return np.zeros(0, dtype=np.int64)
        C = ctx.num_classes
        m, pos = read_varint(buf, 0, "rans-labels table")
        if not 1 <= m <= C:
            raise CorruptPayload(f"rans-labels: {m} symbols declared, num_classes is {C}")
        if m < C:
            symbols = np.empty(m, dtype=np.int64)
            prev = -1
            for i in range(m):
                d, pos = read_varint(buf, pos, "rans-labels table")
                prev = prev + 1 + d
                if prev >= C:
                    raise CorruptPayload(f"rans-labels: symbol {prev} >= num_classes {C}")
                symbols[i] = prev
        else:
            symbols = np.arange(C, dtype=np.int64)
        freq = np.zeros(C, dtype=np.uint32)
        total = 0
        for i in range(m):
            f, pos = read_varint(buf, pos, "rans-labels table")
            total += f + 1
            if total > TOTAL:
                raise CorruptPayload("rans-labels: frequencies sum past 2**16")
            freq[symbols[i]] = f + 1
        if total != TOTAL:
            raise CorruptPayload(f"rans-labels: frequencies sum to {total}, not 2**16")
        cum = np.zeros(C, dtype=np.uint32)
        cum[1:] = np.cumsum(freq)[:-1]
        lut = np.repeat(np.arange(C, dtype=np.int64), freq.astype(np.int64))
        out = np.empty(ctx.count, dtype=np.int64)
        run_decode("rans.rans_decode", "rans-labels", buf[pos:], ctx.count, freq, cum, lut, out)
        return out


register(RansLabels())
