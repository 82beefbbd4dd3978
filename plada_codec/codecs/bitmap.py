"""Index codec 0x0011 "bitmap": one bit per pool image (docs/FORMAT.md, "bitmap").  Wins when the kept
fraction is large (about k/N > 1/10 for random subsets)."""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8, run_decode


class Bitmap(Codec):
    codec_id = 0x0011
    name = "bitmap"
    section = SectionType.INDICES
    encode_cost = 1
    fast_decode = True

    def encode(self, indices: np.ndarray, ctx: StreamContext):
        nbytes = (ctx.pool_size + 7) // 8
        # Not worth building when even the 33-bit-per-index worst case of packed-delta is smaller.
        if nbytes > 2 * (len(indices) * 33 // 8 + 1024) and not getattr(ctx, "force", False):
            return None
        out = np.zeros(nbytes, dtype=np.uint8)
        kernel("bitmap.bitmap_encode")(indices, ctx.pool_size, out)
        return out.tobytes()

    def max_count(self, nbytes: int, ctx: StreamContext) -> int:
        return 8 * nbytes

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        out = np.empty(ctx.count, dtype=np.int64)
        run_decode("bitmap.bitmap_decode", "bitmap indices", as_u8(data), ctx.pool_size, ctx.count, out)
        return out


register(Bitmap())
