"""Reference (numpy) for the packed-delta index stream (codec 0x10, docs/FORMAT.md "packed-delta").

gaps: g[0] = i[0], g[j] = i[j] - i[j-1] - 1.  Blocks of ``block`` gaps (the last may be shorter);
each block: u8 width w (0..32), LEB128 reference r (< 2**32), then the values g - r packed in w bits,
LSB first, padded with zero bits to a byte boundary.  Encoder: r = min(block), w = bit_length(max - r).
"""
from __future__ import annotations

import numpy as np

from . import status


def _pack(values, width, out):
    """numpy bit packing, LSB first (vectorised per block)."""
    n = values.shape[0]
    if width == 0 or n == 0:
        return 0
    shifts = np.arange(width, dtype=np.uint64)
    bits = ((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).ravel()
    packed = np.packbits(bits, bitorder="little")
    out[:packed.shape[0]] = packed
    return packed.shape[0]


def _unpack(data, start, count, width, out):
    nbytes = (count * width + 7) // 8
    if start + nbytes > data.shape[0]:
        return status.TRUNCATED
    if width == 0 or count == 0:
        out[:count] = 0
        return start
    bits = np.unpackbits(data[start:start + nbytes], bitorder="little")
    used = count * width
    if bits[used:].any():
        return status.NONZERO_PADDING
    weights = np.uint64(1) << np.arange(width, dtype=np.uint64)
    out[:count] = (bits[:used].reshape(count, width).astype(np.uint64) * weights).sum(axis=1)
    return start + nbytes

__all__ = ["delta_for_encode", "delta_for_decode"]


def _bit_length(v: int) -> int:
    return int(v).bit_length()


def delta_for_encode(indices, block, out):
    """Write the stream for sorted unique ``indices`` (int64) into ``out`` (uint8, zeroed, large enough:
    see ``max_encoded_size``).  Returns the number of bytes written."""
    k = indices.shape[0]
    if k == 0:
        return 0
    gaps = np.diff(indices.astype(np.int64), prepend=np.int64(-1)) - 1
    pos = 0
    for s in range(0, k, block):
        g = gaps[s:s + block].astype(np.uint64)
        ref = int(g.min())
        width = _bit_length(int(g.max()) - ref)
        out[pos] = width
        pos += 1
        while True:  # LEB128
            byte = ref & 0x7F
            ref >>= 7
            if ref:
                out[pos] = byte | 0x80
                pos += 1
            else:
                out[pos] = byte
                pos += 1
                break
        pos += _pack(g - np.uint64(g.min()), width, out[pos:])
    return pos


def delta_for_decode(data, count, block, pool_size, out):
    """Decode ``count`` indices into ``out`` (int64).  Returns bytes consumed (== len(data) required by
    the caller) or a negative status."""
    n = data.shape[0]
    pos = 0
    prev = -1
    tmp = np.empty(block, dtype=np.uint64)
    for s in range(0, count, block):
        nb = min(block, count - s)
        if pos >= n:
            return status.TRUNCATED
        width = int(data[pos])
        pos += 1
        if width > 32:
            return status.BAD_FIELD
        ref = 0
        shift = 0
        while True:
            if pos >= n:
                return status.TRUNCATED
            byte = int(data[pos])
            pos += 1
            ref |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                if shift > 7 and byte == 0:
                    return status.BAD_FIELD  # not minimally encoded
                break
            if shift >= 35:
                return status.BAD_FIELD
        if ref >= 2**32:
            return status.BAD_FIELD
        end = _unpack(data, pos, nb, width, tmp)
        if end < 0:
            return end
        pos = end
        vals = np.cumsum(tmp[:nb].astype(np.int64) + (ref + 1)) + prev
        if vals[-1] >= pool_size:
            return status.OUT_OF_RANGE
        out[s:s + nb] = vals
        prev = int(vals[-1])
    if pos != n:
        return status.TRAILING
    return pos
