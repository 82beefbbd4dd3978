"""Label codecs 0x0040 "adaptive-labels" and 0x0041 "adaptive-labels-grouped": context-modelled binary
arithmetic coding of the labels given the already decoded indices, and 0x0042 "uniform-labels", the
same coder with the fixed uniform distribution, one step per label (docs/codecs/adaptive.md).

Labels follow the pool's folders (a folder's images mostly get its dominant class, plus a skewed tail).
Both codecs keep a short list of candidate classes ordered by count and code each label as "in the
list?" + its rank, or as a class id through an adaptive binary tree.  ``adaptive-labels`` conditions on
the gap before the label and lets counts age; ``adaptive-labels-grouped`` (``needs_groups``) restarts the
list at each folder and conditions on how many labels of the folder came before.
"""
from __future__ import annotations

import numpy as np

from ..errors import CorruptPayload
from ..registry import Codec, SectionType, StreamContext, register
from ._common import run_decode_values, run_encode
from .adaptive_gaps import folder_starts

_NO_FOLDERS = np.zeros(1, dtype=np.int64)


class _AdaptiveLabelsBase(Codec):
    section = SectionType.LABELS
    grouped = 0

    def _gstart(self, ctx: StreamContext) -> np.ndarray:
        if not self.grouped:
            return _NO_FOLDERS
        if ctx.groups is None:
            raise CorruptPayload(f"{self.name} needs the pool's folder sizes")
        return folder_starts(ctx.groups, ctx.pool_size)

    def encode(self, labels: np.ndarray, ctx: StreamContext):
        if ctx.indices is None or (self.grouped and ctx.groups is None):
            return None
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        idx = np.ascontiguousarray(ctx.indices, dtype=np.int64)
        return run_encode("adaptive.labels_encode", self.name, 3 * lab.shape[0] + 64, idx, lab, ctx.num_classes,
                          self._gstart(ctx), self.grouped)

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        if ctx.indices is None or ctx.indices.shape[0] != ctx.count:
            raise CorruptPayload(f"{self.name}: the decoded indices are needed to decode the labels")
        idx = np.ascontiguousarray(ctx.indices, dtype=np.int64)
        return run_decode_values("adaptive.labels_decode", f"{self.name} labels", data, ctx.count, idx,
                                 ctx.num_classes, self._gstart(ctx), self.grouped)


class AdaptiveLabels(_AdaptiveLabelsBase):
    codec_id = 0x0040
    name = "adaptive-labels"
    grouped = 0


class AdaptiveLabelsGrouped(_AdaptiveLabelsBase):
    codec_id = 0x0041
    name = "adaptive-labels-grouped"
    needs_groups = True
    grouped = 1


class UniformLabels(Codec):
    """log2 C bits per label in one coder step, nothing learnt or shipped: the
    code for labels with no usable structure (uniform-random controls, where a frequency table or a learnt
    model costs more)."""

    codec_id = 0x0042
    name = "uniform-labels"
    section = SectionType.LABELS
    encode_cost = 2  # one coder step per label: about as fast as rans-labels
    fast_decode = True

    def encode(self, labels: np.ndarray, ctx: StreamContext):
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        return run_encode("adaptive.uniform_labels_encode", self.name, 3 * lab.shape[0] + 64, lab, ctx.num_classes)

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        return run_decode_values("adaptive.uniform_labels_decode", f"{self.name} labels", data, ctx.count,
                                 ctx.num_classes)


register(AdaptiveLabels())
register(AdaptiveLabelsGrouped())
register(UniformLabels())
