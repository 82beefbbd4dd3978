"""Golden vectors of the adaptive codecs (docs/vectors/compact/): both backends decode each stream to the
stored input, and both encoders reproduce it byte for byte (pinned compressed bytes).  A missing vector
fails; tests never write them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from plada_codec.errors import CorruptPayload, TruncatedPayload
from plada_codec.registry import StreamContext, get_by_name

HERE = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "compact"
NAMES = [f"{i}_{c}" for i in ("tiny", "folders", "uniform")
         for c in ("adaptive_gaps", "adaptive_gaps_grouped", "adaptive_gaps_density", "adaptive_labels",
                   "adaptive_labels_grouped", "uniform_labels", "geometric_gaps", "dirichlet_labels")]
#: extra vectors: 0x43 with a prior exponent imposed (a = 3) instead of the encoder's own choice
IMPOSED_SHIFT = ["folders_dirichlet_labels_a3"]
TINY_HEX = {"tiny_adaptive_gaps": "828c301880", "tiny_adaptive_gaps_grouped": "f1f4553e0000",
            "tiny_adaptive_labels": "b6000000", "tiny_adaptive_labels_grouped": "bdc718e3",
            "tiny_adaptive_gaps_density": "9f4000a2c0", "tiny_uniform_labels": "7b425ecc",
            "tiny_geometric_gaps": "947a3806ad", "tiny_dirichlet_labels": "0088881741"}
#: the tiny labels [1, 1, 1, 0] (C = 3) under 0x43 with each prior exponent (the vector holds a = 0, the
#: one best_shift picks): the first byte is a, then the coder stream
TINY_DIRICHLET_HEX = ["0088881741", "018e388f34", "02959baca4", "039ceb3de6", "04a294aaa0", "05a63cd478",
                      "06a8574a4200", "07a978d7fb00"]


def load(name):
    meta = json.loads((HERE / f"{name}.json").read_text())
    data = (HERE / f"{name}.bin").read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["sha256"], name
    return meta, data


def stream_of(meta):
    """(codec, context, the values the stream holds) of a vector's JSON."""
    codec = get_by_name(meta["codec"])
    assert codec.codec_id == meta["codec_id"]
    idx = np.array(meta["indices"], np.int64)
    lab = np.array(meta["labels"], np.int64)
    groups = np.array(meta["groups"], np.int64)
    n, c = meta["pool_size"], meta["num_classes"]
    if meta["codec"] in ("uniform-labels", "dirichlet-labels"):
        return codec, StreamContext(n, c, idx.size), lab
    if "labels" in meta["codec"]:
        return codec, StreamContext(n, c, idx.size, indices=idx, groups=groups), lab
    return codec, StreamContext(n, c, idx.size, groups=groups), idx


@pytest.mark.parametrize("name", NAMES + IMPOSED_SHIFT)
def test_vector_decodes_and_reencodes(name, backend):
    meta, data = load(name)
    codec, ctx, values = stream_of(meta)
    np.testing.assert_array_equal(codec.decode(data, ctx), values)
    if meta["codec"] == "dirichlet-labels":  # the prior exponent: the stream's first byte
        assert data[0] == meta["shift"]
        assert codec.encode(values, ctx, shift=meta["shift"]) == data
    if name not in IMPOSED_SHIFT:  # the encoder's own choices (0x43: best_shift's pick)
        assert codec.encode(values, ctx) == data


def test_imposed_shift_vector_is_not_the_encoders_pick():
    meta, data = load(IMPOSED_SHIFT[0])
    codec, ctx, values = stream_of(meta)
    assert meta["shift"] == 3 and codec.encode(values, ctx)[0] != 3


ARITHMETIC = [n for n in NAMES + IMPOSED_SHIFT if "geometric" not in n]  # 0x13 is rANS: its own end state


@pytest.mark.parametrize("name", ARITHMETIC)
def test_flipped_stream_fails_or_is_the_encoding_of_its_values(name, backend):
    """The binary arithmetic coder's end check (docs/codecs/adaptive.md §2: exact length and x == x1) makes
    a decoder accept only the encoder's own output: a stream that decodes without an error re-encodes to
    itself.  Every single-bit flip of the first and last 8 bytes is tried (2 with the slow reference
    backend); flipping bit 0 of the last byte
    (a low bit of the flushed x1) must fail outright (with the length check alone it decoded, and for three
    of these vectors to other labels)."""
    meta, data = load(name)
    codec, ctx, values = stream_of(meta)
    edge = 8 if backend == "numba" else 2
    for pos in sorted(set(range(min(edge, len(data)))) | set(range(max(0, len(data) - edge), len(data)))):
        for bit in range(8):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            try:
                got = codec.decode(bytes(bad), ctx)
            except (CorruptPayload, TruncatedPayload):
                continue
            assert not np.array_equal(got, values), (pos, bit)
            kwargs = {"shift": bad[0]} if meta["codec"] == "dirichlet-labels" else {}
            assert codec.encode(got, ctx, **kwargs) == bytes(bad), (pos, bit)
    bad = bytearray(data)
    bad[-1] ^= 1
    with pytest.raises(CorruptPayload):
        codec.decode(bytes(bad), ctx)
