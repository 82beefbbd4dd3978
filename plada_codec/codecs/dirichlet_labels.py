"""Label codec 0x0043 "dirichlet-labels": labels as independent draws of a distribution that is not known
in advance, coded with the exact sequential Bayes (Dirichlet) probabilities (docs/codecs/adaptive.md,
section 7c).

After t labels with class counts n_c, the next label is class c with probability
(n_c + alpha) / (t + C alpha), alpha = 2**-a.  The code length of a whole stream is then
log2 [Gamma(k + C alpha) / Gamma(C alpha)] - sum_c log2 [Gamma(n_c + alpha) / Gamma(alpha)], which is
within about (d / 2) log2 k bits of the empirical entropy (d = classes that occur): the code for labels
with a skewed distribution and no order (Zipf-like controls, payloads too small to pay for a static
table).  Nothing is shipped but the byte ``a``; the encoder picks the ``a`` whose code length, computed
from the label counts, is smallest (any ``a`` decodes: the choice is the encoder's).
"""
from __future__ import annotations

from math import lgamma, log
from typing import Optional

import numpy as np

from ..registry import Codec, SectionType, StreamContext, register
from ._common import run_decode_values, run_encode

#: the prior per class is 2**-a for a = 0 .. MAX_SHIFT (docs/codecs/adaptive.md, section 7c)
MAX_SHIFT = 7


def dirichlet_code_bits(counts: np.ndarray, shift: int) -> float:
    """Code length in bits of labels with these class counts under prior 2**-shift per class (any order).
    Classes sharing a count share one term, so this costs O(distinct counts), not O(C)."""
    counts = np.asarray(counts, dtype=np.int64)
    alpha = 2.0 ** -shift
    k, C = int(counts.sum()), int(counts.size)
    values, multiplicity = np.unique(counts[counts > 0], return_counts=True)
    per_class = sum(m * (lgamma(v + alpha) - lgamma(alpha)) for v, m in zip(values.tolist(), multiplicity.tolist()))
    return (lgamma(k + C * alpha) - lgamma(C * alpha) - per_class) / log(2)


def best_shift(counts: np.ndarray) -> int:
    """The prior exponent with the shortest code for these counts (ties: the smaller exponent)."""
    bits = [dirichlet_code_bits(counts, a) for a in range(MAX_SHIFT + 1)]
    return int(np.argmin(bits))


class DirichletLabels(Codec):
    codec_id = 0x0043
    name = "dirichlet-labels"
    section = SectionType.LABELS
    encode_cost = 8  # bitlen(C - 1) fixed decisions per label, each with one integer division

    def encode(self, labels: np.ndarray, ctx: StreamContext, shift: Optional[int] = None):
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        if shift is None:
            shift = best_shift(np.bincount(lab, minlength=ctx.num_classes)) if lab.size else 0
        return run_encode("adaptive.dirichlet_labels_encode", self.name, 3 * lab.shape[0] + 64, lab,
                          ctx.num_classes, int(shift))

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        return run_decode_values("adaptive.dirichlet_labels_decode", f"{self.name} labels", data, ctx.count,
                                 ctx.num_classes)


register(DirichletLabels())
