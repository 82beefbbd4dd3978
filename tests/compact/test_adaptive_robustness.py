"""Untrusted input: corrupted adaptive streams raise CorruptPayload / TruncatedPayload (never another
exception), every truncation is rejected, decoding garbage ends in bounded time."""
from __future__ import annotations

import time

import numpy as np
import pytest

import plada_codec
from plada_codec._ext import kernel, status
from plada_codec.errors import CorruptPayload, DecodeError, TruncatedPayload
from plada_codec.registry import StreamContext, get_by_name

from .helpers import GroupedPool, folder_payload, mutations

INDEX_CODECS = ["adaptive-gaps", "adaptive-gaps-grouped", "adaptive-gaps-density", "geometric-gaps"]
LABEL_CODECS = ["adaptive-labels", "adaptive-labels-grouped", "uniform-labels", "dirichlet-labels"]


@pytest.fixture(scope="module")
def sample():
    idx, lab, n, c, groups = folder_payload(np.random.default_rng(11), n_folders=30)
    return idx, lab, n, c, groups


def streams(sample):
    idx, lab, n, c, groups = sample
    for name in INDEX_CODECS:
        ctx = StreamContext(n, c, idx.size, groups=groups)
        yield name, ctx, get_by_name(name).encode(idx, ctx), idx
    for name in LABEL_CODECS:
        ctx = StreamContext(n, c, idx.size, indices=idx, groups=groups)
        yield name, ctx, get_by_name(name).encode(lab, ctx), lab


def test_every_truncation_rejected(sample):
    for name, ctx, data, _ in streams(sample):
        codec = get_by_name(name)
        for cut in range(len(data)):
            with pytest.raises(DecodeError):
                codec.decode(data[:cut], ctx)
        with pytest.raises(CorruptPayload):
            codec.decode(data + b"\0", ctx)


def test_mutations_raise_decode_errors_or_decode_valid_values(sample):
    rng = np.random.default_rng(5)
    rejected = total = 0
    for name, ctx, data, values in streams(sample):
        codec = get_by_name(name)
        for bad in mutations(rng, np.frombuffer(data, np.uint8), 60):
            total += 1
            try:
                out = codec.decode(bad.tobytes(), ctx)
            except DecodeError:
                rejected += 1
                continue
            # an undetected change must still decode to well-formed values (the container digest
            # catches it); a stream cannot produce out-of-range data
            assert out.shape == values.shape
            if name in INDEX_CODECS:
                assert out.size == 0 or (out[0] >= 0 and out[-1] < ctx.pool_size and np.all(np.diff(out) > 0))
            else:
                assert out.size == 0 or (out.min() >= 0 and out.max() < ctx.num_classes)
    assert rejected > total // 2


def test_dirichlet_shift_byte_above_7_rejected(sample):
    """0x43's first byte is the prior exponent a <= 7: 8..255 is a corrupt field (CorruptPayload through
    the codec, BAD_FIELD from both kernels), 0..7 is a valid choice; an empty stream is truncated."""
    idx, lab, n, c, groups = sample
    codec = get_by_name("dirichlet-labels")
    ctx = StreamContext(n, c, idx.size)
    data = codec.encode(lab, ctx)
    assert data[0] <= 7
    np.testing.assert_array_equal(codec.decode(data, ctx), lab)
    for first in range(8, 256):
        bad = bytes([first]) + data[1:]
        with pytest.raises(CorruptPayload, match="impossible field"):
            codec.decode(bad, ctx)
        if first in (8, 128, 255):
            for backend in ("numba", "reference"):
                out = np.zeros(idx.size, np.int64)
                got = kernel("adaptive.dirichlet_labels_decode", backend)(np.frombuffer(bad, np.uint8), c, out)
                assert got == status.BAD_FIELD, (backend, first, got)
    for first in range(8):  # another prior decodes to other labels or fails, but never with BAD_FIELD
        bad = bytes([first]) + data[1:]
        try:
            out = codec.decode(bad, ctx)
        except DecodeError as exc:
            assert "impossible field" not in str(exc)
        else:
            assert out.shape == lab.shape and out.min() >= 0 and out.max() < c
    with pytest.raises(TruncatedPayload):
        codec.decode(b"", ctx)


def test_garbage_decodes_in_bounded_time():
    """A short garbage stream claiming many values stops early (the decoder reads past the end and
    fails), or runs a bounded number of decisions per value."""
    rng = np.random.default_rng(1)
    codec = get_by_name("adaptive-gaps")
    ctx = StreamContext(2**32 - 1, 10, 1_000_000)
    t = time.perf_counter()
    for _ in range(20):
        with pytest.raises(DecodeError):
            codec.decode(rng.integers(0, 256, size=64).astype(np.uint8).tobytes(), ctx)
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize("labels_codec", ["adaptive-labels-grouped", "dirichlet-labels"])
def test_container_bit_flips_rejected(sample, labels_codec):
    """Through the container, single-bit flips anywhere are rejected (digest or stream checks)."""
    idx, lab, n, c, groups = sample
    pool = GroupedPool(groups)
    blob = plada_codec.encode(idx[:40], lab[:40], pool_size=n, num_classes=c, pool=pool,
                              codec={"indices": "adaptive-gaps-grouped", "labels": labels_codec})
    assert [s["codec"] for s in plada_codec.inspect(blob)["sections"]][1] == labels_codec
    flips = 0
    for byte in range(len(blob)):
        for bit in range(0, 8, 3):
            bad = bytearray(blob)
            bad[byte] ^= 1 << bit
            with pytest.raises(plada_codec.PladaError):
                plada_codec.decode(bytes(bad), pool=pool)
            flips += 1
    assert flips > 100


@pytest.mark.parametrize("name", [c for c in INDEX_CODECS + LABEL_CODECS if c not in ("geometric-gaps", "uniform-labels")])
def test_flipped_tiny_streams_decode_only_to_their_own_encoding(name, backend):
    """The binary arithmetic coder accepts only its encoder's output (docs/codecs/adaptive.md §2: exact
    length and x == x1 at the end; an escape never names a class in the list): a corrupted stream that
    still decodes re-encodes to itself.  Every single-bit flip of the streams of random tiny inputs (N = 16
    in two folders, C = 3, k <= 4; 0x43 with a random prior exponent), where such collisions are common
    (0x42 has none to check: every flip of its streams fails)."""
    rng = np.random.default_rng(2026)
    codec = get_by_name(name)
    groups = np.array([8, 8], np.int64)
    accepted = 0
    for _ in range(60 if backend == "numba" else 12):
        k = int(rng.integers(1, 5))
        idx = np.sort(rng.choice(16, k, replace=False)).astype(np.int64)
        lab = rng.integers(0, 3, k).astype(np.int64)
        ctx = StreamContext(16, 3, k, indices=idx, groups=groups)
        values = lab if "labels" in name else idx
        kwargs = {"shift": int(rng.integers(0, 8))} if name == "dirichlet-labels" else {}
        data = codec.encode(values, ctx, **kwargs)
        for pos in range(len(data)):
            for bit in range(8):
                bad = bytearray(data)
                bad[pos] ^= 1 << bit
                try:
                    out = codec.decode(bytes(bad), ctx)
                except DecodeError:
                    continue
                accepted += 1
                again = {"shift": bad[0]} if name == "dirichlet-labels" else {}
                assert codec.encode(out, ctx, **again) == bytes(bad), (data.hex(), pos, bit)
    assert accepted > 0
