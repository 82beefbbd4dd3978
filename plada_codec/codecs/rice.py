"""Index codec 0x0012 "rice-gaps": Rice-coded gaps, one parameter per block of 128 (docs/FORMAT.md,
"rice-gaps").  Within about 1 % of the order-0 bound on random subsets."""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8, run_decode

BLOCK = 128


class RiceGaps(Codec):
    codec_id = 0x0012
    name = "rice-gaps"
    section = SectionType.INDICES
    encode_cost = 2
    fast_decode = True

    def encode(self, indices: np.ndarray, ctx: StreamContext) -> bytes:
        k = len(indices)
        # worst case per gap with the best parameter: 33 bits (r = 31, q <= 1) + 5 bits per block
        out = np.zeros((k * 34 + (-(-k // BLOCK)) * 5) // 8 + 16, dtype=np.uint8)
        n = kernel("rice.rice_encode")(indices, BLOCK, out)
        return out[:n].tobytes()

    def max_count(self, nbytes: int, ctx: StreamContext) -> int:
        return 8 * nbytes  # every gap costs at least its terminating zero bit

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        out = np.empty(ctx.count, dtype=np.int64)
        run_decode("rice.rice_decode", "rice-gaps indices", as_u8(data), ctx.count, BLOCK, ctx.pool_size, out)
        return out


register(RiceGaps())
