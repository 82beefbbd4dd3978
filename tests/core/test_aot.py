"""The ahead-of-time compiled decode kernels (plada_codec/_ext/aot.py).

They are the same ``*_nb.py`` sources compiled by numba.pycc, so they must agree with the reference on
valid and corrupted streams; a call with other argument types must go to the JIT kernel (the compiled
functions do not check types); a stale build must be ignored; and a cold decode must not import Numba.

Tests that need the compiled module skip when it is not built, except when PLADA_REQUIRE_AOT=1
(scripts/test.sh sets it after building), where its absence fails.
"""
from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

import plada_codec
from plada_codec import _ext
from plada_codec._ext import aot
from plada_codec.errors import PladaError
from plada_codec.registry import SectionType, StreamContext, list_codecs


@pytest.fixture
def built():
    if aot.load() is None:
        if os.environ.get("PLADA_REQUIRE_AOT") == "1":
            pytest.fail("ahead-of-time kernels missing or stale: run python -m plada_codec._ext.aot")
        pytest.skip("ahead-of-time kernels not built (python -m plada_codec._ext.aot)")
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("NUMBA_DISABLE_JIT runs the Python sources, not the compiled copies")
    return aot.load()


def test_signatures_cover_every_decoder_with_matching_arity():
    for qualified, (ret, kinds) in aot.SIGNATURES.items():
        topic, _, name = qualified.partition(".")
        assert name in _ext.kernel_names(topic), qualified
        fn = _ext.kernel(qualified, "numba")
        py = getattr(fn, "py_func", fn)  # plain function under NUMBA_DISABLE_JIT=1
        assert len(inspect.signature(py).parameters) == len(kinds), qualified
        assert ret == "i8" and kinds[0] == "u1" and kinds[-1] in ("i8", "u8"), qualified
    decoders = {f"{t}.{n}" for t in _ext.topics() for n in _ext.kernel_names(t)
                if n.endswith("_decode") or n == "unpack_bits"}
    assert decoders == set(aot.SIGNATURES)


def _streams(rng):
    """(codec, ctx, values, data) for every stream codec on a few random subsets."""
    for n, k, c, groups in [(1000, 0, 3, None), (5000, 300, 7, np.array([1000, 1500, 2500])),
                            (70_000, 2_000, 300, np.array([10_000] * 7)), (40, 40, 1, np.array([40]))]:
        idx = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
        lab = rng.integers(0, c, size=k).astype(np.int64)
        for codec in list_codecs():
            if codec.section not in (SectionType.INDICES, SectionType.LABELS):
                continue
            g = groups if codec.needs_groups else None
            if codec.needs_groups and g is None:
                continue
            if codec.section == SectionType.INDICES:
                ctx, values = StreamContext(n, c, k, groups=g), idx
            else:
                ctx, values = StreamContext(n, c, k, indices=idx, groups=g), lab
            data = codec.encode(values, ctx)
            if data is not None:
                yield codec, ctx, values, bytes(data)


def _mutants(rng, data: bytes):
    out = [data[:-1], data + b"\x00"] if data else [b"\x00"]
    for _ in range(4):
        if data:
            b = bytearray(data)
            b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
            out.append(bytes(b))
    return out


def _decode(codec, data, ctx, backend, monkeypatch):
    monkeypatch.setenv("PLADA_CODEC_BACKEND", backend)
    try:
        return "ok", codec.decode(data, ctx)
    except PladaError as exc:
        return type(exc).__name__, None


def test_compiled_decoders_agree_with_reference(built, monkeypatch):
    hits = {}
    real_checked = aot.checked

    def counting(qualified, compiled, fallback):
        def spy(*args):
            hits[qualified] = hits.get(qualified, 0) + 1
            return compiled(*args)
        return real_checked(qualified, spy, fallback)

    monkeypatch.setattr(aot, "checked", counting)
    _ext._compiled.cache_clear()
    try:
        rng = np.random.default_rng(11)
        for codec, ctx, values, data in _streams(rng):
            status, got = _decode(codec, data, ctx, "aot", monkeypatch)
            assert status == "ok" and np.array_equal(got, values), codec.name
            for bad in _mutants(rng, data):
                a = _decode(codec, bad, ctx, "aot", monkeypatch)
                r = _decode(codec, bad, ctx, "reference", monkeypatch)
                assert a[0] == r[0], (codec.name, a[0], r[0])
                if a[0] == "ok":
                    np.testing.assert_array_equal(a[1], r[1])
    finally:
        _ext._compiled.cache_clear()
    assert set(hits) == set(aot.SIGNATURES), sorted(set(aot.SIGNATURES) - set(hits))


def test_other_argument_types_go_to_the_jit_kernel(built):
    fn = _ext.kernel("bitmap.bitmap_decode", "aot")
    assert hasattr(fn, "compiled")
    data = np.array([0b1010_0101], np.uint8)
    want = np.array([0, 2, 5, 7])
    jit = _ext.kernel("bitmap.bitmap_decode", "numba")
    for out in (np.zeros(4, np.int32), np.zeros(8, np.int64)[::2], np.zeros((4,), np.uint64)):
        assert fn(data, 8, 4, out) == jit(data, 8, 4, out.copy()) == 1  # one byte consumed
        np.testing.assert_array_equal(out, want)
    ro = np.zeros(4, np.int64)
    ro.flags.writeable = False
    with pytest.raises(Exception):  # Numba refuses to write a read-only array; the compiled copy is not called
        fn(data, 8, 4, ro)
    out = np.zeros(4, np.int64)
    assert fn(data, np.int64(8), 4, out) == 1 and out.tolist() == want.tolist()
    assert fn(data, 8, True, np.zeros(4, np.int64)) == _ext.kernel("bitmap.bitmap_decode", "numba")(
        data, 8, True, np.zeros(4, np.int64))


def test_stale_or_foreign_build_is_ignored(built, monkeypatch):
    real_digest = aot.source_digest
    monkeypatch.setattr(aot, "_loaded", None)
    monkeypatch.setattr(aot, "source_digest", lambda: "0" * 64)  # the kernel sources changed
    assert aot.load() is None
    monkeypatch.setattr(aot, "_loaded", None)
    monkeypatch.setattr(aot, "source_digest", real_digest)
    assert aot.load() is not None
    monkeypatch.setattr(aot, "_loaded", None)
    monkeypatch.setattr(aot, "_abi", lambda: {"python": "cpython-00", "soabi": "", "numpy": "0"})
    assert aot.load() is None


def test_cold_decode_does_not_import_numba(built, tmp_path):
    rng = np.random.default_rng(3)
    idx = np.sort(rng.choice(100_000, 3_000, replace=False))
    lab = rng.integers(0, 50, 3_000)
    paths = {}
    for codec in ("auto", "packed", "static"):
        paths[codec] = tmp_path / f"{codec}.pld"
        plada_codec.save(paths[codec], idx, lab, pool_size=100_000, num_classes=50, codec=codec)
    np.save(tmp_path / "want.npy", np.stack([idx, lab]))
    script = (
        "import sys, numpy as np, plada_codec\n"
        f"want = np.load({str(tmp_path / 'want.npy')!r})\n"
        "for p in sys.argv[1:]:\n"
        "    got = plada_codec.load(p)\n"
        "    assert np.array_equal(got.indices, want[0]) and np.array_equal(got.labels, want[1])\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PLADA_CODEC_BACKEND", "NUMBA_DISABLE_JIT")}
    r = subprocess.run([sys.executable, "-c", script, *map(str, paths.values())], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
