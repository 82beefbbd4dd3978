"""Index codec 0x0013 "geometric-gaps": the gaps of a subset without structure, coded with the geometric
distribution of the exact mean gap still to come (docs/FORMAT.md §6.4b).

A uniformly random subset of k of N images has gaps that are, to a very good approximation, geometric
with mean rp / rk (pool positions left / indices left).  The model is therefore computed, not learnt or
shipped: 96 integer tables (8 per octave of the mean gap), one rANS step per gap from a 256-entry lookup,
the low bits of large gaps raw.  Within 0.05 % of log2 C(N, k) on the uniform controls and the fastest
compact index decoder; on clustered subsets the adaptive coders win and ``codec="auto"`` picks those.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

from .._ext import kernel
from .._ext.geometric_ref import NSYM, NTAB
from ..registry import Codec, SectionType, StreamContext, register
from ._common import run_decode_values, run_encode


@lru_cache(maxsize=None)
def model_tables() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freq, cum, lut) of the 96 static tables, computed once per process by the numpy reference (about
    a millisecond, no compiler needed: a cold decode does not import Numba).  The Numba kernel
    ``geometric_tables`` computes the same arrays (tests check)."""
    freq = np.zeros(NTAB * NSYM, np.int64)
    cum = np.zeros(NTAB * (NSYM + 1), np.int64)
    lut = np.zeros(NTAB * 256, np.int64)
    kernel("geometric.geometric_tables", "reference")(freq, cum, lut)
    for a in (freq, cum, lut):
        a.setflags(write=False)
    return freq, cum, lut


class GeometricGaps(Codec):
    codec_id = 0x0013
    name = "geometric-gaps"
    section = SectionType.INDICES
    encode_cost = 3
    fast_decode = True

    def encode(self, indices: np.ndarray, ctx: StreamContext):
        idx = np.ascontiguousarray(indices, dtype=np.int64)
        freq, cum, _ = model_tables()
        return run_encode("geometric.geometric_encode", self.name, 5 * idx.shape[0] + 64, idx, ctx.pool_size,
                          freq, cum)

    def max_count(self, nbytes: int, ctx: StreamContext) -> int:
        return ctx.pool_size  # a tail of kept images up to N - 1 is implied, not coded

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        freq, cum, lut = model_tables()
        return run_decode_values("geometric.geometric_decode", f"{self.name} indices", data, ctx.count,
                                 ctx.pool_size, freq, cum, lut)


register(GeometricGaps())
