"""Information bounds used to judge codecs (docs/BENCHMARKS.md).

order-0 bound = log2 C(N, k) + log2 multinomial(k; label counts): the cost, in bits, of naming a
uniformly random k-subset of the pool together with a labelling that has these label counts.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

_LN2 = math.log(2.0)


def log2_binomial(n: int, k: int) -> float:
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got n={n}, k={k}")
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / _LN2


def log2_multinomial(counts: Sequence[int]) -> float:
    counts = np.asarray(counts, dtype=np.int64)
    k = int(counts.sum())
    return (math.lgamma(k + 1) - sum(math.lgamma(int(c) + 1) for c in counts if c > 1)) / _LN2


def order0_bound_bits(pool_size: int, label_counts: Sequence[int]) -> float:
    """log2 C(N, k) + log2 multinomial(k; label counts), in bits."""
    k = int(np.asarray(label_counts).sum())
    return log2_binomial(int(pool_size), k) + log2_multinomial(label_counts)
