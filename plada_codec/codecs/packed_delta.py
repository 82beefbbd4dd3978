"""Index codec 0x0010 "packed-delta": gaps in blocks of 128, frame of reference + per-block bit width.
Byte layout: docs/FORMAT.md, "packed-delta".  The fastest index codec (>= 300 M indices/s decode)."""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8, run_decode

BLOCK = 128


def max_encoded_size(count: int) -> int:
    blocks = -(-count // BLOCK)
    return blocks * 6 + (count * 32 + 7) // 8


class PackedDelta(Codec):
    codec_id = 0x0010
    name = "packed-delta"
    section = SectionType.INDICES
    encode_cost = 1
    fast_decode = True

    def encode(self, indices: np.ndarray, ctx: StreamContext) -> bytes:
        out = np.zeros(max_encoded_size(len(indices)), dtype=np.uint8)
        n = kernel("delta_for.delta_for_encode")(indices, BLOCK, out)
        return out[:n].tobytes()

    def max_count(self, nbytes: int, ctx: StreamContext) -> int:
        return BLOCK * (nbytes // 2)  # each block holds <= 128 gaps in >= 2 bytes (width, reference)

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        out = np.empty(ctx.count, dtype=np.int64)
        run_decode("delta_for.delta_for_decode", "packed-delta indices", as_u8(data), ctx.count, BLOCK,
                   ctx.pool_size, out)
        return out


register(PackedDelta())
