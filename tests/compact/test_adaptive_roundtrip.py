"""Round trips of the adaptive codecs, through the codec objects and through plada_codec.encode/decode,
including hypothesis properties over N, k, C and folder layouts."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plada_codec
from plada_codec._ext import kernel
from plada_codec.registry import SectionType, StreamContext, get_by_name

from .helpers import GroupedPool, folder_payload

PAIRS = [
    ({"indices": "adaptive-gaps", "labels": "adaptive-labels"}, False),
    ({"indices": "adaptive-gaps-grouped", "labels": "adaptive-labels-grouped"}, True),
    ({"indices": "adaptive-gaps", "labels": "adaptive-labels-grouped"}, True),
    ({"indices": "adaptive-gaps-grouped", "labels": "adaptive-labels"}, True),
    ({"indices": "adaptive-gaps-density", "labels": "uniform-labels"}, False),
    ({"indices": "geometric-gaps", "labels": "uniform-labels"}, False),
    ({"indices": "geometric-gaps", "labels": "dirichlet-labels"}, False),
]


def test_registered_ids():
    want = {"adaptive-gaps": (0x30, SectionType.INDICES, False),
            "adaptive-gaps-grouped": (0x31, SectionType.INDICES, True),
            "adaptive-labels": (0x40, SectionType.LABELS, False),
            "adaptive-labels-grouped": (0x41, SectionType.LABELS, True),
            "adaptive-gaps-density": (0x32, SectionType.INDICES, False),
            "uniform-labels": (0x42, SectionType.LABELS, False),
            "dirichlet-labels": (0x43, SectionType.LABELS, False),
            "geometric-gaps": (0x13, SectionType.INDICES, False)}
    for name, (cid, section, groups) in want.items():
        c = get_by_name(name)
        assert (c.codec_id, c.section, c.needs_groups, c.auto) == (cid, section, groups, True)


@st.composite
def payloads(draw):
    n = draw(st.one_of(st.integers(1, 3000), st.sampled_from([2**32 - 1, 14_197_122])))
    k = draw(st.integers(0, min(n, 400)))
    shape = draw(st.sampled_from(["random", "run", "clusters", "ends"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if shape == "random" or k == 0:
        idx = np.unique(rng.integers(0, n, size=k))
    elif shape == "run":
        start = int(rng.integers(0, n - k + 1))
        idx = np.arange(start, start + k)
    elif shape == "clusters":
        centers = rng.integers(0, n, size=3)
        idx = np.unique(np.clip(centers[rng.integers(0, 3, size=k)] + rng.integers(-40, 40, size=k), 0, n - 1))
    else:
        idx = np.unique(np.concatenate([np.arange(min(k, n) // 2), n - 1 - np.arange(k - k // 2)]))
    idx = idx.astype(np.int64)
    c = draw(st.sampled_from([1, 2, 3, 10, 255, 512, 513, 65535]))
    skew = draw(st.booleans())
    lab = (np.minimum(rng.zipf(1.3, idx.size) - 1, c - 1) if skew else rng.integers(0, c, size=idx.size))
    folders = draw(st.integers(1, 30))
    cuts = np.unique(rng.integers(1, n, size=min(n - 1, folders - 1))) if n > 1 else np.zeros(0, np.int64)
    groups = np.diff(np.concatenate([[0], cuts, [n]]))
    return idx, lab.astype(np.int64), n, c, groups


@given(payloads())
def test_codec_objects_roundtrip(case):
    idx, lab, n, c, groups = case
    k = idx.size
    for name in ("adaptive-gaps", "adaptive-gaps-grouped", "adaptive-gaps-density", "geometric-gaps"):
        codec = get_by_name(name)
        ctx = StreamContext(n, c, k, groups=groups)
        data = codec.encode(idx, ctx)
        assert data is not None
        np.testing.assert_array_equal(codec.decode(data, ctx), idx)
    for name in ("adaptive-labels", "adaptive-labels-grouped", "uniform-labels", "dirichlet-labels"):
        codec = get_by_name(name)
        ctx = StreamContext(n, c, k, indices=idx, groups=groups)
        data = codec.encode(lab, ctx)
        assert data is not None
        np.testing.assert_array_equal(codec.decode(data, ctx), lab)


@settings(max_examples=30)
@given(payloads(), st.integers(0, 7))
def test_dirichlet_any_shift_roundtrips(case, shift):
    """0x43 with a forced prior exponent: any of 0..7 decodes (the choice is the encoder's), and the
    stream's first byte holds it."""
    idx, lab, n, c, groups = case
    codec = get_by_name("dirichlet-labels")
    ctx = StreamContext(n, c, idx.size)
    data = codec.encode(lab, ctx, shift=shift)
    assert data is not None and data[0] == shift
    np.testing.assert_array_equal(codec.decode(data, ctx), lab)


@given(payloads())
def test_container_roundtrip_forced_codecs(case):
    idx, lab, n, c, groups = case
    pool = GroupedPool(groups)
    for choice, needs_pool in PAIRS:
        blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool if needs_pool else None,
                                  codec=choice)
        names = [s["codec"] for s in plada_codec.inspect(blob)["sections"]]
        assert names == [choice["indices"], choice["labels"]]
        p = plada_codec.decode(blob, pool=pool if needs_pool else None)
        np.testing.assert_array_equal(p.indices, idx)
        np.testing.assert_array_equal(p.labels, lab)


def test_auto_picks_adaptive_codecs_on_folder_structured_data():
    idx, lab, n, c, groups = folder_payload(np.random.default_rng(7), n_folders=200, folder_size=(100, 2000))
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
    names = {s["codec"] for s in plada_codec.inspect(blob)["sections"]}
    assert names == {"adaptive-gaps", "adaptive-labels"}
    pool = GroupedPool(groups)
    blob_g = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool)
    names = {s["codec"] for s in plada_codec.inspect(blob_g)["sections"]}
    assert names == {"adaptive-gaps-grouped", "adaptive-labels-grouped"}
    assert len(blob_g) < len(blob)


def test_grouped_payload_needs_the_pool():
    idx, lab, n, c, groups = folder_payload(np.random.default_rng(3))
    pool = GroupedPool(groups)
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool, codec=PAIRS[1][0])
    with pytest.raises(plada_codec.PoolMismatch):
        plada_codec.decode(blob)
    other = GroupedPool(np.concatenate([groups[:-2], [groups[-2] + groups[-1]]]))
    with pytest.raises(plada_codec.PoolMismatch):
        plada_codec.decode(blob, pool=other)
    # the right identity, but folder sizes that are not a partition of the pool: the caller's pool is at
    # fault (PoolError), not the payload
    for bad in (np.concatenate([groups, [0]]), np.concatenate([groups[:-1], [groups[-1] + 1, -1]])):
        wrong = GroupedPool(groups)
        wrong.group_sizes = bad
        with pytest.raises(plada_codec.PoolError, match="positive"):
            plada_codec.decode(blob, pool=wrong)


@pytest.mark.parametrize("n", [1, 2, 300])
def test_k_equals_n_and_k_zero(n):
    pool = GroupedPool([n])
    for choice, needs_pool in PAIRS:
        for idx in (np.arange(n), np.zeros(0, np.int64)):
            lab = np.arange(idx.size) % 3
            blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=3, pool=pool if needs_pool else None,
                                      codec=choice)
            p = plada_codec.decode(blob, pool=pool if needs_pool else None)
            np.testing.assert_array_equal(p.indices, idx)
            np.testing.assert_array_equal(p.labels, lab)


@pytest.mark.parametrize("start", [0, 1000])
def test_dense_tails_far_above_the_old_allocation_bound_decode(start):
    """A kept run up to N - 1 is forced for the gap coders (nothing is coded), so 300,000 indices fit in
    a few bytes; the decoder's allocation bound (max_count) must accept that, with every gap codec and
    with auto (which picks such a stream)."""
    n = 300_000
    idx = np.arange(start, n)
    lab = np.zeros(idx.size, np.int64)
    pool = GroupedPool([n // 2, n - n // 2])
    for name in ("adaptive-gaps", "adaptive-gaps-grouped", "adaptive-gaps-density", "geometric-gaps", None):
        choice = {"indices": name} if name else "auto"
        p = pool if name == "adaptive-gaps-grouped" else None
        blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=2, codec=choice, pool=p)
        assert len(blob) < 200
        np.testing.assert_array_equal(plada_codec.decode(blob, pool=p).indices, idx)


def test_full_pool_costs_almost_nothing():
    """k = N leaves no choice: no decision is coded for the indices (4 flush bytes)."""
    codec = get_by_name("adaptive-gaps")
    ctx = StreamContext(100_000, 2, 100_000)
    assert len(codec.encode(np.arange(100_000), ctx)) == 4


def test_one_class_costs_no_label_bits():
    codec = get_by_name("adaptive-labels")
    idx = np.arange(0, 50_000, 3)
    ctx = StreamContext(50_000, 1, idx.size, indices=idx)
    assert len(codec.encode(np.zeros(idx.size, np.int64), ctx)) == 4


def test_encoder_declines_when_its_buffer_would_overflow():
    """A pathological input bigger than 40 bits per index makes the codec return None (auto skips it)."""
    codec = get_by_name("adaptive-labels")
    rng = np.random.default_rng(0)
    idx = np.arange(64)
    ctx = StreamContext(64, 65535, 64, indices=idx)
    # 64 distinct uniformly random 16-bit labels cost ~17 bits each: fits; the API must still round-trip
    lab = rng.integers(0, 65535, 64)
    data = codec.encode(lab, ctx)
    assert data is not None
    np.testing.assert_array_equal(codec.decode(data, ctx), lab)


def test_structureless_coders_reach_the_order0_bound():
    """A uniform random subset with uniform labels: density gaps + uniform labels within 1 % of
    log2 C(N, k) + k log2 C (the order-0 bound for these label counts is a little lower: C-1 over 2 log2 k)."""
    from math import lgamma, log, log2

    rng = np.random.default_rng(2)
    n, k, c = 2_000_000, 20_000, 100
    idx = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    lab = rng.integers(0, c, size=k).astype(np.int64)
    gaps = get_by_name("adaptive-gaps-density").encode(idx, StreamContext(n, c, k))
    labels = get_by_name("uniform-labels").encode(lab, StreamContext(n, c, k, indices=idx))
    index_bound = (lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)) / log(2) / 8
    bound = index_bound + k * log2(c) / 8
    assert len(gaps) + len(labels) <= 1.01 * bound
    # geometric-gaps models these gaps exactly (a geometric law of the exact mean gap): within 0.1 %
    geo = get_by_name("geometric-gaps").encode(idx, StreamContext(n, c, k))
    assert len(geo) <= 1.001 * index_bound + 4 and len(geo) < len(gaps)
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
    assert [s["codec"] for s in plada_codec.inspect(blob)["sections"]] == ["geometric-gaps", "uniform-labels"]
    assert len(labels) <= k * log2(c) / 8 + 8  # 16-bit probabilities lose almost nothing


@pytest.mark.parametrize("c", [2, 3, 100, 1000, 65535])
def test_uniform_labels_cost_log2_c_per_label(c):
    """0x42 codes each label in one uniform step: k log2 C bits plus the 4-byte flush, to within 0.1 %."""
    from math import log2

    rng = np.random.default_rng(c)
    k = 20_000
    lab = rng.integers(0, c, size=k).astype(np.int64)
    codec = get_by_name("uniform-labels")
    ctx = StreamContext(k, c, k)
    data = codec.encode(lab, ctx)
    ideal = k * log2(c) / 8
    assert ideal + 4 - 1 <= len(data) <= ideal * 1.001 + 5
    np.testing.assert_array_equal(codec.decode(data, ctx), lab)


def test_uniform_step_widens_a_narrow_straddling_range():
    """Bounds that straddle a byte boundary with fewer than 2**16 values between them: the uniform step
    first keeps the larger side (docs/codecs/adaptive.md section 2); the stream still decodes."""
    from plada_codec._ext import adaptive_ref as ref

    widened = []

    class Counting(ref.Encoder):
        def _widen(self):
            if self.x2 - self.x1 < 65536:
                widened.append((self.x1, self.x2))
            super()._widen()

    rng = np.random.default_rng(1)
    lab = rng.integers(0, 3, size=3000)
    enc = Counting(1 << 20)
    ref._uniform(enc, lab, 3, False)
    out = np.zeros(1 << 16, np.uint8)
    n = enc.finish(out)
    assert widened, "this input is expected to reach the widening path"
    for x1, x2 in widened:
        assert (x1 ^ x2) & 0xFF000000 and x2 - x1 < 65536
    for backend in ("numba", "reference"):
        dec = np.empty(lab.size, np.int64)
        assert kernel("adaptive.uniform_labels_decode", backend)(out[:n].copy(), 3, dec) == 0
        np.testing.assert_array_equal(dec, lab)


# ------------------------------------------------------------------------------- 0x43 dirichlet-labels

def zipf_labels(rng, c, k):
    """Labels drawn iid with p_i proportional to 1 / i (i = 1 .. C), class i - 1."""
    p = 1.0 / np.arange(1, c + 1)
    return rng.choice(c, size=k, p=p / p.sum()).astype(np.int64)


@pytest.mark.parametrize("c, k, kind", [(100, 20_000, "zipf"), (1000, 14_197, "zipf"), (2, 20_000, "zipf"),
                                        (2, 5_000, "skew"), (65535, 3_000, "zipf"), (1, 1_000, "zipf")])
def test_dirichlet_size_matches_its_closed_form(c, k, kind):
    """The coded size is the Dirichlet code length of the label counts (what best_shift minimises) plus
    the shift byte and the coder's flush: within 8 bytes, for the extreme shifts and the chosen one."""
    from plada_codec.codecs.dirichlet_labels import MAX_SHIFT, best_shift, dirichlet_code_bits

    rng = np.random.default_rng(c + k)
    lab = zipf_labels(rng, c, k) if kind == "zipf" else (rng.random(k) < 0.03).astype(np.int64)
    counts = np.bincount(lab, minlength=c)
    codec = get_by_name("dirichlet-labels")
    ctx = StreamContext(k, c, k)
    for a in sorted({0, best_shift(counts), MAX_SHIFT}):
        data = codec.encode(lab, ctx, shift=a)
        ideal = dirichlet_code_bits(counts, a) / 8
        assert ideal <= len(data) <= ideal + 8, (a, len(data), ideal)
    if c == 1:
        assert len(codec.encode(lab, ctx)) == 5  # no decision: the shift byte and the flush


def test_dirichlet_closed_form_is_the_sequential_code_length():
    """dirichlet_code_bits equals the sum of -log2 (n_c + alpha) / (t + C alpha) label by label, for any
    order of the labels, and is cheaper than k log2 C for skewed labels."""
    from math import log2

    from plada_codec.codecs.dirichlet_labels import dirichlet_code_bits

    rng = np.random.default_rng(3)
    c = 37
    lab = zipf_labels(rng, c, 500)
    counts = np.bincount(lab, minlength=c)
    for a in (0, 2, 7):
        alpha = 2.0 ** -a
        for order in (lab, np.sort(lab), rng.permutation(lab)):
            seen = np.zeros(c)
            bits = 0.0
            for t, x in enumerate(order):
                bits -= log2((seen[x] + alpha) / (t + c * alpha))
                seen[x] += 1
            assert abs(bits - dirichlet_code_bits(counts, a)) < 1e-6 * bits
        assert dirichlet_code_bits(counts, a) < 500 * log2(c)
    assert dirichlet_code_bits(np.zeros(c, np.int64), 3) == 0


def test_best_shift_is_the_argmin():
    """best_shift picks the exponent with the shortest closed form (ties: the smaller); the encoder
    ships it in the first byte, and the real streams of that shift are within 2 bytes of the shortest."""
    from plada_codec.codecs.dirichlet_labels import MAX_SHIFT, best_shift, dirichlet_code_bits

    rng = np.random.default_rng(4)
    cases = {
        "uniform C=100": (100, rng.integers(0, 100, 5_000)),
        "zipf C=1000": (1000, zipf_labels(rng, 1000, 5_000)),
        "few of many": (65535, rng.choice(rng.choice(65535, 30, replace=False), 2_000)),
    }
    chosen = {}
    codec = get_by_name("dirichlet-labels")
    for what, (c, lab) in cases.items():
        lab = np.asarray(lab, np.int64)
        counts = np.bincount(lab, minlength=c)
        bits = [dirichlet_code_bits(counts, a) for a in range(MAX_SHIFT + 1)]
        a = best_shift(counts)
        assert a == int(np.argmin(bits)) and bits[a] == min(bits), what
        chosen[what] = a
        ctx = StreamContext(lab.size, c, lab.size)
        data = codec.encode(lab, ctx)
        assert data[0] == a
        sizes = [len(codec.encode(lab, ctx, shift=s)) for s in range(MAX_SHIFT + 1)]
        assert len(data) <= min(sizes) + 2, (what, sizes)
    # the choice is real: a flat prior for many uniform labels, a sparse one for few classes of many,
    # one in between for Zipf-like labels
    assert chosen["uniform C=100"] == 0 and chosen["few of many"] == MAX_SHIFT, chosen
    assert 0 < chosen["zipf C=1000"] < MAX_SHIFT, chosen
    assert best_shift(np.zeros(10, np.int64)) == 0  # all shifts cost 0 bits: the smallest


def test_auto_picks_dirichlet_labels_for_zipf_labels_near_the_order0_bound():
    """Zipf-like labels (p_i ~ 1/i, C = 1000) of a uniform random subset of the pool: auto chooses 0x43,
    and the whole payload is within 3 % of the order-0 bound; uniform labels keep 0x42."""
    from plada_codec.bounds import order0_bound_bits

    rng = np.random.default_rng(5)
    n, k, c = 14_197_122, 14_197, 1000
    idx = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    lab = zipf_labels(rng, c, k)
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
    assert [s["codec"] for s in plada_codec.inspect(blob)["sections"]] == ["geometric-gaps", "dirichlet-labels"]
    bound = order0_bound_bits(n, np.bincount(lab, minlength=c)) / 8
    assert len(blob) <= 1.03 * bound, (len(blob), bound)
    p = plada_codec.decode(blob)
    np.testing.assert_array_equal(p.indices, idx)
    np.testing.assert_array_equal(p.labels, lab)

    n, k, c = 2_000_000, 20_000, 100
    idx = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    lab = rng.integers(0, c, size=k).astype(np.int64)
    blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
    sections = plada_codec.inspect(blob)["sections"]
    assert [s["codec"] for s in sections] == ["geometric-gaps", "uniform-labels"]
    # 0x43 loses to 0x42 there by its (C - 1) / 2 log2 k bits of learning, not by more than 2 %
    dirichlet = get_by_name("dirichlet-labels").encode(lab, StreamContext(n, c, k))
    assert sections[1]["encoded_bytes"] < len(dirichlet) <= 1.02 * sections[1]["encoded_bytes"]


def test_dirichlet_every_shift_roundtrips_the_same_labels():
    rng = np.random.default_rng(6)
    c, k = 300, 3000
    lab = zipf_labels(rng, c, k)
    codec = get_by_name("dirichlet-labels")
    ctx = StreamContext(k, c, k)
    streams = set()
    for a in range(8):
        data = codec.encode(lab, ctx, shift=a)
        assert data[0] == a
        np.testing.assert_array_equal(codec.decode(data, ctx), lab)
        streams.add(data)
    assert len(streams) == 8
