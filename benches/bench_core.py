"""Issue-2 speed figures: packed index decode >= 300 M indices/s (kernel, warm) on a 1.4 M-index payload,
and a cold `python -m plada_codec decode` of a ~150 KB payload in <= 1 s wall.

Run: python -m pytest benches/bench_core.py --benchmark-only --benchmark-columns=min,median,mean,rounds
Each benchmark checks the round trip before it times anything.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import zstandard

import plada_codec
from plada_codec._ext import kernel
from plada_codec.codecs.packed_delta import BLOCK, max_encoded_size

from conftest import load_corpus, record_rate


def _packed_stream(idx):
    out = np.zeros(max_encoded_size(len(idx)), dtype=np.uint8)
    n = kernel("delta_for.delta_for_encode", "numba")(idx, BLOCK, out)
    return out[:n].copy()


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_packed_delta_decode(benchmark, big_payload, backend):
    idx, _, n, _, _ = big_payload
    data = _packed_stream(idx)
    dec = kernel("delta_for.delta_for_decode", backend)
    out = np.empty(len(idx), dtype=np.int64)
    assert dec(data, len(idx), BLOCK, n, out) == len(data)
    assert np.array_equal(out, idx)
    benchmark.extra_info["indices"] = len(idx)
    benchmark(dec, data, len(idx), BLOCK, n, out)
    record_rate(benchmark, len(idx), "M_indices_per_s")


def test_packed_delta_encode(benchmark, big_payload):
    idx, _, n, _, _ = big_payload
    enc = kernel("delta_for.delta_for_encode", "numba")
    out = np.zeros(max_encoded_size(len(idx)), dtype=np.uint8)
    benchmark(enc, idx, BLOCK, out)
    record_rate(benchmark, len(idx), "M_indices_per_s")


def test_zstd19_gap_decode(benchmark, big_payload):
    """The paper's layout for comparison: uint8/16/32 gaps in one zstd -19 frame, decode + cumsum."""
    idx, _, n, _, _ = big_payload
    gaps = np.diff(idx, prepend=0)
    gaps = gaps.astype(np.uint8 if gaps.max() < 256 else np.uint16 if gaps.max() < 65536 else np.uint32)
    frame = zstandard.ZstdCompressor(level=19).compress(gaps.tobytes())
    dctx = zstandard.ZstdDecompressor()

    def run():
        return np.cumsum(np.frombuffer(dctx.decompress(frame), dtype=gaps.dtype), dtype=np.int64)

    assert np.array_equal(run(), idx)
    benchmark(run)
    record_rate(benchmark, len(idx), "M_indices_per_s")


@pytest.mark.parametrize("codec", ["packed", "auto"])
def test_full_decode(benchmark, big_payload, codec):
    """plada_codec.decode end to end (digest, all checks, labels) for the whole payload."""
    idx, lab, n, c, _ = big_payload
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec=codec)
    p = plada_codec.decode(blob)
    assert np.array_equal(p.indices, idx) and np.array_equal(p.labels, lab)
    benchmark(plada_codec.decode, blob)
    benchmark.extra_info["bytes"] = len(blob)
    record_rate(benchmark, len(idx), "M_indices_per_s")


def test_cold_cli_decode(benchmark, tmp_path):
    """Wall time of a fresh `python -m plada_codec decode` process on a ~150 KB payload (compiled kernels
    cached on disk by numba after the first run, which is excluded)."""
    idx, lab, n, c, _ = load_corpus("Caltech-101_21K_k1.npz")
    pld = tmp_path / "p.pld"
    plada_codec.save(pld, idx, lab, pool_size=n, num_classes=c)
    cmd = [sys.executable, "-m", "plada_codec", "decode", str(pld), "-o", str(tmp_path / "o.npz")]
    subprocess.run(cmd, check=True, capture_output=True)  # warm numba's on-disk cache once

    def run():
        subprocess.run(cmd, check=True, capture_output=True)

    benchmark.pedantic(run, rounds=5, iterations=1)
    benchmark.extra_info["payload_bytes"] = os.path.getsize(pld)
    assert benchmark.stats is None or benchmark.stats.stats.median < 1.0
