"""Reference (plain Python) static order-0 rANS for labels (codec 0x21, docs/FORMAT.md "rans-labels").

32-bit state, byte-wise renormalisation, L = 2**23, probabilities scaled to M = 2**16.  The encoder
codes symbols last to first; the stream is the final state as u32 LE followed by the renormalisation
bytes in the order the decoder reads them.  The decoder must end in state L having read every byte.
"""
from __future__ import annotations

import numpy as np

from . import status

__all__ = ["rans_encode", "rans_decode"]

SCALE = 16
RANS_L = 1 << 23


def rans_encode(labels, freq, cum, out):
    """Encode ``labels`` with frequencies ``freq``/``cum`` (uint32 arrays indexed by symbol, sum 2**16).
    Writes the stream to ``out`` and returns its length."""
    x = RANS_L
    rev = bytearray()
    for j in range(labels.shape[0] - 1, -1, -1):
        s = int(labels[j])
        f = int(freq[s])
        x_max = ((RANS_L >> SCALE) << 8) * f
        while x >= x_max:
            rev.append(x & 0xFF)
            x >>= 8
        x = ((x // f) << SCALE) + (x % f) + int(cum[s])
    stream = x.to_bytes(4, "little") + bytes(reversed(rev))
    out[:len(stream)] = np.frombuffer(stream, dtype=np.uint8)
    return len(stream)


def rans_decode(data, count, freq, cum, lut, out):
    """Decode ``count`` symbols.  ``lut[slot]`` = symbol for slot in [0, 2**16).  Returns bytes consumed
    or a negative status."""
    n = data.shape[0]
    if n < 4:
        return status.TRUNCATED
    x = int.from_bytes(bytes(data[:4]), "little")
    pos = 4
    mask = (1 << SCALE) - 1
    for j in range(count):
        slot = x & mask
        s = int(lut[slot])
        x = int(freq[s]) * (x >> SCALE) + slot - int(cum[s])
        while x < RANS_L:
            if pos >= n:
                return status.TRUNCATED
            x = (x << 8) | int(data[pos])
            pos += 1
        out[j] = s
    if x != RANS_L:
        return status.BAD_FIELD
    if pos != n:
        return status.TRAILING
    return pos
