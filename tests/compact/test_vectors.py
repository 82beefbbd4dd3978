"""Golden vectors of the adaptive codecs (docs/vectors/compact/): both backends decode each stream to the
stored input, and both encoders reproduce it byte for byte (pinned compressed bytes).  A missing vector
fails; tests never write them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from plada_codec.registry import StreamContext, get_by_name

HERE = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "compact"
NAMES = [f"{i}_{c}" for i in ("tiny", "folders", "uniform")
         for c in ("adaptive_gaps", "adaptive_gaps_grouped", "adaptive_gaps_density", "adaptive_labels",
                   "adaptive_labels_grouped", "uniform_labels", "geometric_gaps", "dirichlet_labels")]
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


@pytest.mark.parametrize("name", NAMES)
def test_vector_decodes_and_reencodes(name, backend):
    meta, data = load(name)
    codec = get_by_name(meta["codec"])
    assert codec.codec_id == meta["codec_id"]
    idx = np.array(meta["indices"], np.int64)
    lab = np.array(meta["labels"], np.int64)
    groups = np.array(meta["groups"], np.int64)
    n, c = meta["pool_size"], meta["num_classes"]
    if meta["codec"] in ("uniform-labels", "dirichlet-labels"):
        ctx = StreamContext(n, c, idx.size)
        values = lab
    elif "labels" in meta["codec"]:
        ctx = StreamContext(n, c, idx.size, indices=idx, groups=groups)
        values = lab
    else:
        ctx = StreamContext(n, c, idx.size, groups=groups)
        values = idx
    np.testing.assert_array_equal(codec.decode(data, ctx), values)
    assert codec.encode(values, ctx) == data
    if meta["codec"] == "dirichlet-labels":  # the prior exponent: the stream's first byte, best_shift's pick
        assert data[0] == meta["shift"]
        assert codec.encode(values, ctx, shift=meta["shift"]) == data


def test_tiny_vectors_are_the_documented_bytes():
    for name, hx in TINY_HEX.items():
        assert load(name)[1].hex() == hx


def test_tiny_dirichlet_labels_at_every_shift(backend):
    codec = get_by_name("dirichlet-labels")
    ctx = StreamContext(16, 3, 4)
    lab = np.array([1, 1, 1, 0], np.int64)
    for a, hx in enumerate(TINY_DIRICHLET_HEX):
        data = codec.encode(lab, ctx, shift=a)
        assert data.hex() == hx, a
        np.testing.assert_array_equal(codec.decode(data, ctx), lab)
