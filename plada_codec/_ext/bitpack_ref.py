"""Reference (numpy) fixed-width bit packing, LSB first (docs/FORMAT.md, "Bit order").

Value j occupies stream bits [j*w, (j+1)*w); stream bit b is bit (b % 8) of byte b // 8.
"""
from __future__ import annotations

import numpy as np

from . import status

__all__ = ["pack_bits", "unpack_bits"]


def pack_bits(values, width, out):
    """Pack ``values`` (uint64, each < 2**width) into ``out`` (uint8, zeroed, >= ceil(n*w/8) bytes).
    Returns the number of bytes written."""
    n = values.shape[0]
    nbytes = (n * width + 7) // 8
    if width == 0 or n == 0:
        return 0
    shifts = np.arange(width, dtype=np.uint64)
    bits = ((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).ravel()
    packed = np.packbits(bits, bitorder="little")
    out[:nbytes] = packed
    return nbytes


def unpack_bits(data, start, count, width, out):
    """Unpack ``count`` values of ``width`` bits from ``data[start:]`` into ``out`` (uint64).
    Returns the offset just past the last byte used, or a negative status.  Padding bits in the last
    byte must be zero."""
    nbytes = (count * width + 7) // 8
    if width > 32:
        return status.BAD_FIELD
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
