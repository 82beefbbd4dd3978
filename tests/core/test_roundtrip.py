"""Round trips through the public API (issue 2, "Public API"): every registered codec and "auto", N from 1
to 2**32-1, k from 0 to N, C from 1 to 65535; random, clustered and skewed inputs; unsorted input;
optional sections; input validation."""
from __future__ import annotations

import contextlib
import hashlib
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plada_codec
from plada_codec import EncodeError, PoolIdentity
from plada_codec.registry import SectionType, get_by_name, list_codecs

MAX_N = 2**32 - 1
MAX_C = 65535


@contextlib.contextmanager
def kernel_backend(name: str):
    """Like the ``backend`` fixture, usable inside a hypothesis test."""
    old = os.environ.get("PLADA_CODEC_BACKEND")
    os.environ["PLADA_CODEC_BACKEND"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["PLADA_CODEC_BACKEND"]
        else:
            os.environ["PLADA_CODEC_BACKEND"] = old


class GroupedPool:
    """A minimal Pool stand-in: identity plus folder sizes (enables codecs with needs_groups)."""

    def __init__(self, group_sizes):
        self.group_sizes = np.asarray(group_sizes, dtype=np.int64)
        n = int(self.group_sizes.sum())
        self.identity = PoolIdentity("grouped", n, hashlib.sha256(self.group_sizes.tobytes()).digest())


def groups_for(n: int, rng) -> np.ndarray:
    if n == 1:
        return np.array([1])
    cuts = np.unique(rng.integers(1, n, size=min(n - 1, 20)))
    return np.diff(np.concatenate([[0], cuts, [n]]))


def codec_choices():
    """"auto", "fast", the presets, every (index codec, label codec) pair, every joint codec, by name."""
    idx = [c for c in list_codecs(SectionType.INDICES)]
    lab = [c for c in list_codecs(SectionType.LABELS)]
    out = [("auto", False), ("fast", False), ("packed", False), ("static", False)]
    for i in idx:
        for l in lab:
            out.append(({"indices": i.name, "labels": l.name}, i.needs_groups or l.needs_groups))
    for j in list_codecs(SectionType.JOINT):
        out.append((j.name, j.needs_groups))
    return out


CODECS = codec_choices()


def codec_id(choice) -> str:
    c = choice[0]
    return c if isinstance(c, str) else f"{c['indices']}+{c['labels']}"


# -------------------------------------------------------------------------------------- input shapes

def make_indices(rng, n: int, k: int, shape: str) -> np.ndarray:
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k == n:
        return np.arange(n, dtype=np.int64)
    if shape == "clustered":  # runs of consecutive images, as folder-driven selections produce
        out = set()
        while len(out) < k:
            start = int(rng.integers(0, n))
            run = int(rng.integers(1, 64))
            out.update(range(start, min(n, start + run)))
        arr = np.array(sorted(out), dtype=np.int64)
        return np.sort(rng.choice(arr, size=k, replace=False)) if len(arr) > k else arr
    if shape == "edges":
        base = {0, n - 1}
        while len(base) < k:
            base.add(int(rng.integers(0, n)))
        return np.array(sorted(base), dtype=np.int64)[:k] if k >= 2 else np.array([n - 1], dtype=np.int64)
    if n <= 1_000_000:
        return np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    out = np.unique(rng.integers(0, n, size=k + 16))
    while len(out) < k:
        out = np.unique(np.concatenate([out, rng.integers(0, n, size=k)]))
    return np.sort(rng.choice(out, size=k, replace=False)).astype(np.int64)


def make_labels(rng, k: int, c: int, dist: str) -> np.ndarray:
    if dist == "uniform":
        return rng.integers(0, c, size=k).astype(np.int64)
    if dist == "constant":
        return np.full(k, int(rng.integers(0, c)), dtype=np.int64)
    if dist == "skewed":  # Zipf-like
        z = rng.zipf(1.3, size=k) - 1
        return np.minimum(z, c - 1).astype(np.int64)
    if dist == "runs":  # long runs of one label, like folder-labelled selections
        out = np.empty(k, dtype=np.int64)
        pos = 0
        while pos < k:
            run = int(rng.integers(1, 200))
            out[pos:pos + run] = int(rng.integers(0, c))
            pos += run
        return out
    if dist == "extremes":
        return rng.choice(np.array([0, c - 1]), size=k).astype(np.int64)
    raise AssertionError(dist)


@st.composite
def cases(draw):
    n = draw(st.one_of(st.integers(1, 300), st.integers(1, 100_000), st.integers(1, MAX_N), st.just(MAX_N),
                       st.just(1)))
    small = n <= 3000
    k = draw(st.one_of(st.integers(0, min(n, 3000 if small else 1500)), st.sampled_from([0, min(n, 1)]),
                       st.just(n) if small else st.just(0)))
    c = draw(st.one_of(st.integers(1, 4), st.integers(1, 300), st.integers(1, MAX_C), st.just(MAX_C)))
    shape = draw(st.sampled_from(["random", "clustered", "edges"]))
    dist = draw(st.sampled_from(["uniform", "constant", "skewed", "runs", "extremes"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    idx = make_indices(rng, n, k, shape)
    lab = make_labels(rng, k, c, dist)
    return n, c, idx, lab, rng


def check_roundtrip(n, c, idx, lab, codec, pool=None, **kw):
    perm = np.random.default_rng(len(idx)).permutation(len(idx))
    blob = plada_codec.encode(idx[perm], lab[perm], pool_size=n, num_classes=c, codec=codec, pool=pool, **kw)
    assert isinstance(blob, bytes)
    p = plada_codec.decode(blob, pool=pool)
    assert p.pool_size == n and p.num_classes == c and len(p) == len(idx)
    assert p.indices.dtype == np.int64 and p.labels.dtype == np.int64
    np.testing.assert_array_equal(p.indices, idx)
    np.testing.assert_array_equal(p.labels, lab)
    assert not p.indices.flags.writeable and not p.labels.flags.writeable
    return blob, p


ISSUE2_CODECS = {"packed-delta", "bitmap", "rice-gaps", "packed-labels", "rans-labels"}


def all_auto(codec) -> bool:
    """Whether codec="auto" tries every codec of this choice (a preset or pair of codec names)."""
    return not isinstance(codec, dict) or all(get_by_name(n).auto for n in codec.values())


def names_of(codec):
    if isinstance(codec, dict):
        return set(codec.values())
    return {codec}


def representable(codec, n, k) -> bool:
    """Forced codecs may refuse inputs they cannot code (EncodeError "cannot represent"): the bitmap
    refuses sparse huge pools.
    Codecs added after issue 2 may refuse inputs too; they are checked where they accept."""
    if isinstance(codec, dict) and codec["indices"] == "bitmap" and (n + 7) // 8 > 2 * (k * 33 // 8 + 1024):
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(cases())
def test_roundtrip_every_codec(case):
    n, c, idx, lab, rng = case
    pool = GroupedPool(groups_for(n, rng))
    sizes = {}
    for codec, needs_groups in CODECS:
        if not representable(codec, n, len(idx)):
            with pytest.raises(EncodeError, match="cannot represent"):
                plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec=codec,
                                   pool=pool if needs_groups else None)
            continue
        try:
            blob, p = check_roundtrip(n, c, idx, lab, codec, pool=pool if needs_groups else None)
        except EncodeError as exc:
            if names_of(codec) <= ISSUE2_CODECS | {"auto", "fast", "packed", "static"} or "cannot represent" not in str(exc):
                raise
            continue  # a later codec that declines this input
        sizes[codec_id((codec, needs_groups))] = len(blob)
    # auto keeps the smallest of the non-grouped candidates it tries
    non_grouped = [sizes[codec_id(cc)] for cc in CODECS
                   if not cc[1] and codec_id(cc) in sizes and all_auto(cc[0])]
    assert sizes["auto"] <= min(non_grouped)
    # "fast" keeps the smallest of the fast-decoding candidates
    fast = [sizes[codec_id(cc)] for cc in CODECS if isinstance(cc[0], dict) and codec_id(cc) in sizes
            and all(get_by_name(name).fast_decode and get_by_name(name).auto for name in cc[0].values())]
    assert sizes["fast"] == min(fast) >= sizes["auto"]


@settings(max_examples=15, deadline=None)
@given(cases())
def test_roundtrip_reference_backend_gives_identical_bytes(case):
    n, c, idx, lab, _ = case
    if len(idx) > 400:
        idx, lab = idx[:400], lab[:400]
    for codec, needs_groups in CODECS:
        if needs_groups or not representable(codec, n, len(idx)):
            continue
        with kernel_backend("numba"):
            a = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec=codec)
        with kernel_backend("reference"):
            b = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec=codec)
            p = plada_codec.decode(a)
        assert a == b, codec
        np.testing.assert_array_equal(p.indices, idx)
        np.testing.assert_array_equal(p.labels, lab)


@pytest.mark.parametrize("choice", CODECS, ids=codec_id)
@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 1000])
def test_k_equals_n_and_k_zero(choice, n):
    codec, needs_groups = choice
    pool = GroupedPool(groups_for(n, np.random.default_rng(n))) if needs_groups else None
    for c in (1, 2, 3, 256, MAX_C):
        lab = np.arange(n, dtype=np.int64) % c
        check_roundtrip(n, c, np.arange(n, dtype=np.int64), lab, codec, pool=pool)
        if representable(codec, n, 0):
            check_roundtrip(n, c, np.zeros(0, np.int64), np.zeros(0, np.int64), codec, pool=pool)


FAST_CODECS = {"packed-delta", "bitmap", "rice-gaps", "geometric-gaps", "packed-labels", "rans-labels",
               "uniform-labels"}


def test_fast_codecs_are_the_documented_ones():
    """codec="fast" tries exactly the codecs without a learnt model (docs/SPEED.md: 38-310 M values/s)."""
    fast = {c.name for kind in (SectionType.INDICES, SectionType.LABELS, SectionType.JOINT)
            for c in list_codecs(kind) if c.fast_decode and c.auto}
    assert fast == FAST_CODECS


@pytest.mark.parametrize("shape, dist", [("clustered", "runs"), ("uniform", "zipf")])
def test_fast_preset_avoids_the_slow_decoders(shape, dist):
    """On inputs where auto picks an adaptive coder (clustered indices: adaptive gaps; skewed iid labels:
    dirichlet-labels), "fast" picks the smallest fast pair instead, and a mapping may ask it per section."""
    rng = np.random.default_rng(7)
    n, k, c = 400_000, 20_000, 100
    idx = make_indices(rng, n, k, shape)
    if dist == "zipf":
        p = 1.0 / np.arange(1, c + 1)
        lab = rng.choice(c, size=k, p=p / p.sum()).astype(np.int64)
    else:  # runs of one class, as folder-correlated labels come
        lab = np.repeat(rng.integers(0, c, size=k // 50 + 1), 50)[:k]
    codecs_of = lambda blob: {s["type"]: s["codec"] for s in plada_codec.inspect(blob)["sections"]}
    auto = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
    fast = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec="fast")
    assert not set(codecs_of(auto).values()) <= FAST_CODECS  # the case exercises the filter
    assert set(codecs_of(fast).values()) <= FAST_CODECS
    pairs = [plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec={"indices": i, "labels": l})
             for i in FAST_CODECS & {x.name for x in list_codecs(SectionType.INDICES)}
             for l in FAST_CODECS & {x.name for x in list_codecs(SectionType.LABELS)}
             if i != "bitmap"]  # the bitmap cannot code this sparse pool
    assert len(fast) == min(len(b) for b in pairs) and len(auto) <= len(fast)
    half = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec={"labels": "fast"})
    assert codecs_of(half)["indices"] == codecs_of(auto)["indices"]
    assert codecs_of(half)["labels"] == codecs_of(fast)["labels"]
    p = plada_codec.decode(fast)
    assert np.array_equal(p.indices, idx) and np.array_equal(p.labels, lab)


def test_static_preset_k0():
    blob = plada_codec.encode([], [], pool_size=10, num_classes=3, codec="static")
    assert len(plada_codec.decode(blob)) == 0


def test_extreme_values():
    for codec, needs in CODECS:
        if needs:
            continue
        for idx in ([0], [MAX_N - 1], [0, MAX_N - 1], [0, 1, 2, MAX_N - 3, MAX_N - 2, MAX_N - 1]):
            idx = np.array(idx, dtype=np.int64)
            if not representable(codec, MAX_N, len(idx)):
                continue
            check_roundtrip(MAX_N, MAX_C, idx, np.full(len(idx), MAX_C - 1), codec)


def test_gap_of_2_pow_32_minus_2():
    # the largest possible gap: first index 0, second N-1 with N = 2**32-1
    idx = np.array([0, MAX_N - 1])
    for codec in ("packed", {"indices": "rice-gaps", "labels": "packed-labels"}):
        check_roundtrip(MAX_N, 2, idx, np.array([1, 0]), codec)


def test_input_dtypes_accepted():
    idx = [9, 2, 5]
    lab = [1, 0, 2]
    expect_idx, expect_lab = [2, 5, 9], [0, 2, 1]
    for it in (np.uint32, np.int32, np.uint64, np.int16, list):
        i = it(idx) if it is list else np.array(idx, dtype=it)
        l = lab if it is list else np.array(lab, dtype=np.uint16)
        p = plada_codec.decode(plada_codec.encode(i, l, pool_size=10, num_classes=3))
        assert p.indices.tolist() == expect_idx and p.labels.tolist() == expect_lab


def test_unsorted_input_sorted_with_labels():
    rng = np.random.default_rng(1)
    idx = rng.choice(10_000, size=3000, replace=False)
    lab = idx % 17
    p = plada_codec.decode(plada_codec.encode(idx, lab, pool_size=10_000, num_classes=17))
    assert np.all(np.diff(p.indices) > 0)
    np.testing.assert_array_equal(p.labels, p.indices % 17)


def test_optional_sections_roundtrip():
    pool = PoolIdentity("imagenet-21k fall11 ✓", 50, hashlib.sha256(b"manifest").digest())
    names = ["n01440764 tench", "goldfish", "great white shark ü"]
    meta = {"rule": "energy", "keep": 0.01, "safety_net": {"tau": 0.5, "min": 3}, "teacher": "resnet18",
            "nested": [1, 2.5, None, True, "é"]}
    for codec in ("auto", "packed", "static"):
        blob = plada_codec.encode([4, 1, 40], [2, 0, 1], pool_size=50, num_classes=3, class_names=names,
                                  pool=pool, meta=meta, codec=codec)
        p = plada_codec.decode(blob, pool=pool)
        assert p.class_names == names and p.meta == meta and p.pool == pool
        assert p.indices.tolist() == [1, 4, 40] and p.labels.tolist() == [0, 2, 1]
        assert plada_codec.decode(blob).pool == pool  # the identity is carried without being given
    # absent sections decode as None
    p = plada_codec.decode(plada_codec.encode([1], [0], pool_size=2, num_classes=1))
    assert p.class_names is None and p.meta is None and p.pool is None and p.skipped_sections == []


def test_long_class_names_use_compression():
    names = [f"synset_n{i:08d}_a_rather_long_descriptive_name" for i in range(5000)]
    idx = np.arange(0, 10000, 2)
    blob = plada_codec.encode(idx, idx % 5000, pool_size=10000, num_classes=5000, class_names=names)
    assert plada_codec.decode(blob).class_names == names
    info = plada_codec.inspect(blob)
    cn = [s for s in info["sections"] if s["type"] == "class_names"][0]
    assert cn["encoded_bytes"] < cn["raw_length"] // 3 and cn["codec"] == "zstd"


def test_pool_mismatch_names_both_pools():
    a = PoolIdentity("pool-a", 10, hashlib.sha256(b"a").digest())
    b = PoolIdentity("pool-b", 10, hashlib.sha256(b"b").digest())
    blob = plada_codec.encode([1], [0], pool_size=10, num_classes=1, pool=a)
    with pytest.raises(plada_codec.PoolMismatch) as ei:
        plada_codec.decode(blob, pool=b)
    assert "pool-a" in str(ei.value) and "pool-b" in str(ei.value)
    assert isinstance(ei.value, ValueError)
    with pytest.raises(EncodeError):  # identity of another size
        plada_codec.encode([1], [0], pool_size=11, num_classes=1, pool=a)


def test_save_and_load(tmp_path):
    path = tmp_path / "a.pld"
    size = plada_codec.save(path, [3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3, codec="packed")
    assert path.stat().st_size == size
    p = plada_codec.load(path)
    assert p.indices.tolist() == [3, 7, 8] and p.labels.tolist() == [0, 2, 2]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_encode_is_deterministic():
    rng = np.random.default_rng(5)
    idx = rng.choice(100_000, 5000, replace=False)
    lab = rng.integers(0, 100, 5000)
    a = plada_codec.encode(idx, lab, pool_size=100_000, num_classes=100, meta={"b": 1, "a": 2})
    b = plada_codec.encode(idx, lab, pool_size=100_000, num_classes=100, meta={"a": 2, "b": 1})
    assert a == b


# ---------------------------------------------------------------------------------------- input errors

@pytest.mark.parametrize("kwargs, word", [
    (dict(indices=[1, 1], labels=[0, 0]), "more than once"),
    (dict(indices=[3, 1, 3], labels=[0, 0, 0]), "more than once"),
    (dict(indices=[10], labels=[0]), "outside the pool"),
    (dict(indices=[-1], labels=[0]), "outside the pool"),
    (dict(indices=[1], labels=[3]), "label 3"),
    (dict(indices=[1], labels=[-1]), "label -1"),
    (dict(indices=[1, 2], labels=[0]), "2 indices but 1 labels"),
    (dict(indices=[[1]], labels=[[0]]), "one-dimensional"),
    (dict(indices=[1.0], labels=[0]), "integers"),
    (dict(indices=[True], labels=[0]), "integers"),
    (dict(indices=[1], labels=[0], pool_size=0), "pool_size"),
    (dict(indices=[1], labels=[0], pool_size=2**32), "pool_size"),
    (dict(indices=[1], labels=[0], pool_size=10.0), "pool_size"),
    (dict(indices=[1], labels=[0], num_classes=0), "num_classes"),
    (dict(indices=[1], labels=[0], num_classes=65536), "num_classes"),
    (dict(indices=[1], labels=[0], class_names=["a", "b"]), "class names"),
    (dict(indices=[1], labels=[0], class_names=["a", "", "c"]), "non-empty"),
    (dict(indices=[1], labels=[0], class_names=["a", "b\nc", "d"]), "line feed"),
    (dict(indices=[1], labels=[0], meta=[1, 2]), "mapping"),
    (dict(indices=[1], labels=[0], meta={"x": float("nan")}), "JSON"),
    (dict(indices=[1], labels=[0], meta={"x": object()}), "JSON"),
    (dict(indices=[1], labels=[0], meta={"x": "y" * 70000}), "max_meta_bytes"),
    (dict(indices=[1], labels=[0], codec="no-such-codec"), "unknown codec"),
    (dict(indices=[1], labels=[0], codec={"indices": "packed-labels"}), "LABELS"),
    (dict(indices=[1], labels=[0], codec={"bogus": "x"}), "unknown keys"),
    (dict(indices=[1], labels=[0], codec="rice-gaps"), "codes only"),
    (dict(indices=[1], labels=[0], codec=42), "codec must be"),
])
def test_encode_errors(kwargs, word):
    args = dict(pool_size=10, num_classes=3)
    args.update(kwargs)
    idx, lab = args.pop("indices"), args.pop("labels")
    with pytest.raises(EncodeError) as ei:
        plada_codec.encode(idx, lab, **args)
    assert word.lower() in str(ei.value).lower()
    assert isinstance(ei.value, ValueError)


def test_every_codec_registered_once_with_stable_ids():
    ids = {c.name: c.codec_id for c in list_codecs()}
    for name, cid in {"raw": 0x0000, "zstd": 0x0001, "packed-delta": 0x0010, "bitmap": 0x0011,
                      "rice-gaps": 0x0012, "packed-labels": 0x0020, "rans-labels": 0x0021}.items():
        assert ids.get(name) == cid, name
    assert len(set(ids.values())) == len(ids)


def test_pool_of_another_size_refused_for_payload_without_identity():
    blob = plada_codec.encode([3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3)
    other = PoolIdentity("bigger", 20, hashlib.sha256(b"x").digest())
    with pytest.raises(plada_codec.PoolMismatch):
        plada_codec.decode(blob, pool=other)


def test_pool_of_same_size_accepted_for_payload_without_identity():
    blob = plada_codec.encode([3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3)
    same = PoolIdentity("any", 10, hashlib.sha256(b"x").digest())
    assert plada_codec.decode(blob, pool=same).pool is None


def test_encode_over_caller_limits_is_a_plain_input_error():
    with pytest.raises(EncodeError) as ei:
        plada_codec.encode(np.arange(5), np.zeros(5, int), pool_size=10, num_classes=3,
                           limits=plada_codec.Limits(max_kept=2))
    assert "max_kept" in str(ei.value) and "internal error" not in str(ei.value)
