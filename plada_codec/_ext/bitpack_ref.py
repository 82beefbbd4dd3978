"""Reference fixed-width bit packing, LSB first (docs/FORMAT.md §1 "Bit order"), built on bitarray's
little-endian bit arrays: an implementation independent of the Numba kernels it checks.

Value j occupies stream bits [j*w, (j+1)*w); stream bit b is bit (b % 8) of byte b // 8.
"""
from __future__ import annotations

from bitarray import bitarray
from bitarray.util import ba2int, int2ba

from . import status

__all__ = ["pack_bits", "unpack_bits"]


def pack_bits(values, width, out):
    """Pack ``values`` (each < 2**width) into ``out`` (uint8, zeroed, >= ceil(n*w/8) bytes).
    Returns the number of bytes written."""
    if width == 0 or values.shape[0] == 0:
        return 0
    bits = bitarray(endian="little")
    for v in values.tolist():
        bits.extend(int2ba(int(v), length=width, endian="little"))
    raw = bits.tobytes()  # pads the last byte with zero bits
    out[:len(raw)] = bytearray(raw)
    return len(raw)


def unpack_bits(data, start, count, width, out):
    """Unpack ``count`` values of ``width`` bits from ``data[start:]`` into ``out``.
    Returns the offset just past the last byte used, or a negative status.  Padding bits in the last
    byte must be zero."""
    if width > 32:
        return status.BAD_FIELD
    nbytes = (count * width + 7) // 8
    if start + nbytes > data.shape[0]:
        return status.TRUNCATED
    if width == 0 or count == 0:
        out[:count] = 0
        return start
    bits = bitarray(endian="little")
    bits.frombytes(bytes(data[start:start + nbytes]))
    used = count * width
    if bits[used:].any():
        return status.NONZERO_PADDING
    for j in range(count):
        out[j] = ba2int(bits[j * width:(j + 1) * width], signed=False)
    return start + nbytes
