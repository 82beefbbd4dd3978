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

from .._ext import kernel
from .._ext.status import raise_for
from ..errors import CorruptPayload
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8
from .adaptive_gaps import OVERFLOW, folder_starts

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
        out = np.zeros(3 * lab.shape[0] + 64, dtype=np.uint8)
        n = int(kernel("adaptive.labels_encode")(idx, lab, ctx.num_classes, self._gstart(ctx), self.grouped, out))
        if n == OVERFLOW:
            return None
        raise_for(n, self.name)
        return out[:n].tobytes()

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        if ctx.indices is None or ctx.indices.shape[0] != ctx.count:
            raise CorruptPayload(f"{self.name}: the decoded indices are needed to decode the labels")
        idx = np.ascontiguousarray(ctx.indices, dtype=np.int64)
        out = np.empty(ctx.count, dtype=np.int64)
        status = kernel("adaptive.labels_decode")(as_u8(data), idx, ctx.num_classes, self._gstart(ctx),
                                                  self.grouped, out)
        raise_for(int(status), f"{self.name} labels")
        return out


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

    def encode(self, labels: np.ndarray, ctx: StreamContext):
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        out = np.zeros(3 * lab.shape[0] + 64, dtype=np.uint8)
        n = int(kernel("adaptive.uniform_labels_encode")(lab, ctx.num_classes, out))
        if n == OVERFLOW:
            return None
        raise_for(n, self.name)
        return out[:n].tobytes()

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        out = np.empty(ctx.count, dtype=np.int64)
        raise_for(int(kernel("adaptive.uniform_labels_decode")(as_u8(data), ctx.num_classes, out)),
                  "uniform-labels labels")
        return out


register(AdaptiveLabels())
register(AdaptiveLabelsGrouped())
register(UniformLabels())
