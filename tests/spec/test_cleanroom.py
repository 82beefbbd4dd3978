"""The spec is enough to implement a reader: ``cleanroom_decode`` (written from docs/FORMAT.md,
docs/codecs/adaptive.md and docs/vectors alone) reads every golden vector as its .json says, and reads
every payload plada_codec writes, whatever the codecs, exactly as plada_codec does."""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import plada_codec
from plada_codec.registry import SectionType, list_codecs

from . import cleanroom_decode as clean

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"
ERRORS = {"TruncatedPayload": clean.TruncatedPayload, "CorruptPayload": clean.CorruptPayload,
          "UnsupportedFeature": clean.UnsupportedFeature, "LimitExceeded": clean.LimitExceeded,
          "PoolMismatch": clean.PoolMismatch}
CONTAINER = sorted(p.stem for p in VECTORS.glob("*.json"))
COMPACT = sorted(p.stem for p in (VECTORS / "compact").glob("*.json"))


def test_every_vector_is_checked():
    assert len(CONTAINER) >= 22 and len(COMPACT) >= 25


@pytest.mark.parametrize("name", CONTAINER)
def test_container_vector(name):
    exp = json.loads((VECTORS / f"{name}.json").read_text())
    data = (VECTORS / f"{name}.pld").read_bytes()
    if not exp["valid"]:
        with pytest.raises(ERRORS[exp["error"]]):
            clean.decode_container(data)
        return
    got = clean.decode_container(data)
    for key in ("version", "pool_size", "num_classes", "kept", "class_names", "meta", "pool", "sections",
                "skipped_sections"):
        assert got[key] == exp[key], key
    assert got["indices"].tolist() == exp["indices"]
    assert got["labels"].tolist() == exp["labels"]


@pytest.mark.parametrize("name", COMPACT)
def test_compact_vector(name):
    exp = json.loads((VECTORS / "compact" / f"{name}.json").read_text())
    data = (VECTORS / "compact" / f"{name}.bin").read_bytes()
    if exp["codec_id"] in clean.INDEX_CODECS:
        got = clean.decode_stream(exp["codec_id"], data, exp["pool_size"], exp["num_classes"],
                                  groups=exp["groups"], k=len(exp["indices"]))
        assert list(map(int, got)) == exp["indices"]
    else:
        got = clean.decode_stream(exp["codec_id"], data, exp["pool_size"], exp["num_classes"],
                                  indices=exp["indices"], groups=exp["groups"])
        assert list(map(int, got)) == exp["labels"]


class _Pool:
    """A pool identity with folder sizes (enables the codecs that use folders)."""

    def __init__(self, groups):
        self.group_sizes = np.asarray(groups, np.int64)
        self.identity = plada_codec.PoolIdentity("spec-test", int(self.group_sizes.sum()),
                                                 hashlib.sha256(self.group_sizes.tobytes()).digest())


INDEX_CODECS = [c.name for c in list_codecs(SectionType.INDICES)]
LABEL_CODECS = [c.name for c in list_codecs(SectionType.LABELS)]


@st.composite
def payloads(draw):
    """Folders of random sizes, each kept at its own density, labels = the folder's class or noise: the
    shape the adaptive models are for, small enough for a pure-Python reader."""
    n_folders = draw(st.integers(1, 12))
    groups = draw(st.lists(st.integers(1, 120), min_size=n_folders, max_size=n_folders))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    c = draw(st.sampled_from([1, 2, 3, 10, 300, 65535]))
    idx, lab = [], []
    start = 0
    for g in groups:
        kept = np.flatnonzero(rng.random(g) < rng.choice([0.0, 0.05, 0.3, 0.9, 1.0])) + start
        major = int(rng.integers(c))
        noise = rng.random(kept.size) < 0.25
        idx += kept.tolist()
        lab += np.where(noise, rng.integers(0, c, kept.size), major).tolist()
        start += g
    return np.array(idx, np.int64), np.array(lab, np.int64), int(start), c, groups


@given(payloads(), st.sampled_from(INDEX_CODECS), st.sampled_from(LABEL_CODECS), st.booleans())
def test_cleanroom_reads_what_plada_codec_writes(payload, index_codec, label_codec, extras):
    idx, lab, n, c, groups = payload
    pool = _Pool(groups)
    kwargs = {}
    if extras:
        kwargs = dict(class_names=[f"class {i}" for i in range(c)] if c <= 300 else None,
                      meta={"rule": "energy", "keep": 0.01, "nested": {"a": [1, 2.5, None]}})
    try:
        blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool,
                                  codec={"indices": index_codec, "labels": label_codec}, **kwargs)
    except plada_codec.EncodeError:  # a forced codec that cannot code this input (e.g. too many for a table)
        assume(False)
    mine = plada_codec.decode(blob, pool=pool)
    theirs = clean.decode_container(blob, pool=dict(size=n, sha256=pool.identity.sha256,
                                                    groups=pool.group_sizes.tolist()))
    assert theirs["indices"].tolist() == mine.indices.tolist() == idx.tolist()
    assert theirs["labels"].tolist() == mine.labels.tolist() == lab.tolist()
    assert theirs["class_names"] == mine.class_names
    assert theirs["meta"] == mine.meta
    streams = plada_codec.inspect(blob)["sections"][:2]
    assert [s["codec"] for s in theirs["sections"][:2]] == [s["codec_id"] for s in streams]


def stream_sections(blob: bytes):
    """[(start, end)] byte spans of the first two sections (INDICES, LABELS), from FORMAT.md §3-§5:
    28-byte header, pool block (P + 32 bytes) when flags bit 0, S entries of 12 bytes, then the bodies."""
    flags, n_sections, name_len = struct.unpack_from("<H", blob, 10)[0], blob[26], blob[27]
    pos = 28 + (name_len + 32 if flags & 1 else 0)
    body = pos + 12 * n_sections
    spans = []
    for j in range(n_sections):
        length = struct.unpack_from("<I", blob, pos + 12 * j + 8)[0]
        spans.append((body, body + length))
        body += length
    return spans[:2]


@given(payloads(), st.sampled_from(INDEX_CODECS), st.sampled_from(LABEL_CODECS), st.data())
def test_both_readers_accept_and_reject_the_same_corrupted_streams(payload, index_codec, label_codec, data):
    """A bit flipped inside the INDICES or LABELS section, the SHA-256 trailer recomputed (so only the
    stream checks can catch it): both readers reject it, or both accept it with the same values."""
    idx, lab, n, c, groups = payload
    pool = _Pool(groups)
    try:
        blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool,
                                  codec={"indices": index_codec, "labels": label_codec})
    except plada_codec.EncodeError:
        assume(False)
    spans = stream_sections(blob)
    section = data.draw(st.sampled_from([j for j, (a, b) in enumerate(spans) if b > a]) if any(
        b > a for a, b in spans) else st.nothing())
    start, end = spans[section]
    bit = data.draw(st.integers(8 * start, 8 * end - 1))
    body = bytearray(blob[:-32])
    body[bit // 8] ^= 1 << (bit % 8)
    bad = bytes(body) + hashlib.sha256(body).digest()  # re-signed: only the stream checks can see it
    try:
        mine = plada_codec.decode(bad, pool=pool)
    except plada_codec.PladaError:
        mine = None
    try:
        theirs = clean.decode_container(bad, pool=dict(size=n, sha256=pool.identity.sha256,
                                                       groups=pool.group_sizes.tolist()))
    except clean.PladaError:
        theirs = None
    assert (mine is None) == (theirs is None), (index_codec, label_codec, section, bit, mine, theirs)
    if mine is not None:
        assert theirs["indices"].tolist() == mine.indices.tolist()
        assert theirs["labels"].tolist() == mine.labels.tolist()
