"""Label codec 0x0020 "packed-labels": each label in bit_length(C - 1) bits, LSB first
(docs/FORMAT.md, "packed-labels")."""
from __future__ import annotations

import numpy as np

from .._ext import kernel
from ..errors import CorruptPayload
from ..registry import Codec, SectionType, StreamContext, register
from ._common import as_u8, run_decode


def label_width(num_classes: int) -> int:
    return int(num_classes - 1).bit_length()


class PackedLabels(Codec):
    codec_id = 0x0020
    name = "packed-labels"
    section = SectionType.LABELS
    encode_cost = 1
    fast_decode = True

    def encode(self, labels: np.ndarray, ctx: StreamContext) -> bytes:
        w = label_width(ctx.num_classes)
        out = np.zeros((len(labels) * w + 7) // 8, dtype=np.uint8)
        n = kernel("bitpack.pack_bits")(labels.astype(np.uint64), w, out)
        return out[:n].tobytes()

    def decode(self, data, ctx: StreamContext) -> np.ndarray:
        w = label_width(ctx.num_classes)
        buf = as_u8(data)
        if buf.shape[0] != (ctx.count * w + 7) // 8:
            raise CorruptPayload(
                f"packed-labels section is {buf.shape[0]} bytes, expected {(ctx.count * w + 7) // 8}"
            )
        out = np.empty(ctx.count, dtype=np.uint64)
        run_decode("bitpack.unpack_bits", "packed-labels", buf, 0, ctx.count, w, out)
        labels = out.astype(np.int64)
        if ctx.count and int(labels.max()) >= ctx.num_classes:
            raise CorruptPayload(f"packed-labels: label {int(labels.max())} >= num_classes {ctx.num_classes}")
        return labels


register(PackedLabels())
