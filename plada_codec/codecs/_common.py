"""Helpers shared by the built-in codec modules."""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from .._ext.status import OVERFLOW, raise_for


def as_u8(data) -> np.ndarray:
    """A read-only uint8 view of bytes / memoryview without copying."""
    return np.frombuffer(data, dtype=np.uint8)


def run_encode(name: str, what: str, capacity: int, *args):
    """Call encoder kernel ``name`` with ``args`` and an output buffer of ``capacity`` bytes; the coded
    bytes, or None when they do not fit (far larger than the alternatives: the auto encoder keeps another
    candidate)."""
    out = np.zeros(capacity, dtype=np.uint8)
    n = int(kernel(name)(*args, out))
    if n == OVERFLOW:
        return None
    raise_for(n, what)
    return out[:n].tobytes()


def run_decode_values(name: str, what: str, data, count: int, *args) -> np.ndarray:
    """Call decoder kernel ``name(data, *args, out)`` into ``count`` int64 values (indices or labels)."""
    out = np.empty(count, dtype=np.int64)
    raise_for(int(kernel(name)(as_u8(data), *args, out)), what)
    return out


def run_decode(name: str, what: str, *args) -> int:
    """Call kernel ``name`` and raise the matching error for a negative status."""
    result = kernel(name)(*args)
    raise_for(int(result), what)
    return int(result)


def varint_bytes(value: int) -> bytes:
    """LEB128 (unsigned, little-endian base 128)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(buf: np.ndarray, pos: int, what: str, max_bytes: int = 5):
    """Read a LEB128 value of at most ``max_bytes`` bytes; returns (value, new_pos)."""
    from ..errors import CorruptPayload, TruncatedPayload

    value = 0
    for i in range(max_bytes):
        if pos >= buf.shape[0]:
            raise TruncatedPayload(f"{what}: varint runs past the end of the section")
        byte = int(buf[pos])
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i > 0 and byte == 0:
                raise CorruptPayload(f"{what}: varint is not minimally encoded")
            return value, pos
    raise CorruptPayload(f"{what}: varint longer than {max_bytes} bytes")
