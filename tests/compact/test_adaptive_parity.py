"""Numba kernels against the plain-Python reference (plada_codec/_ext/adaptive_*): identical return
values, identical bytes, identical decoded arrays, identical error statuses on corrupted streams."""
from __future__ import annotations

import numpy as np
import pytest

from plada_codec import _ext
from plada_codec._ext import status

from .helpers import folder_payload, folder_starts, mutations

NAMES = ["gaps_encode", "gaps_decode", "grouped_encode", "grouped_decode", "labels_encode", "labels_decode",
         "density_encode", "density_decode", "uniform_labels_encode", "uniform_labels_decode",
         "dirichlet_labels_encode", "dirichlet_labels_decode"]
#: the prior exponents that encode_all codes every case with (0x43 "dirichlet-labels")
DIRICHLET_SHIFTS = (0, 3, 7)


def both(name):
    return _ext.kernel(f"adaptive.{name}", "numba"), _ext.kernel(f"adaptive.{name}", "reference")


def test_topic_is_complete():
    assert "adaptive" in _ext.topics()
    assert sorted(_ext.kernel_names("adaptive")) == sorted(NAMES)


def small_case(seed):
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:  # uniform random subset, random labels, random folders
        n = int(rng.choice([1, 2, 17, 300, 5000, 2**32 - 1]))
        k = int(min(n, rng.integers(0, 300)))
        idx = np.unique(rng.integers(0, n, size=k)).astype(np.int64)
        c = int(rng.choice([1, 2, 3, 100, 513, 65535]))
        lab = rng.integers(0, c, size=idx.size).astype(np.int64)
        cuts = np.unique(rng.integers(1, n, size=min(n - 1, 12))) if n > 1 else np.zeros(0, np.int64)
        groups = np.diff(np.concatenate([[0], cuts, [n]]))
        return idx, lab, n, c, groups
    return folder_payload(rng, n_folders=int(rng.integers(1, 25)), num_classes=int(rng.choice([2, 10, 600])))


def encode_all(backend_fns, idx, lab, n, c, gstart):
    out = {}
    enc = {k: v for k, v in backend_fns.items()}
    buf = np.zeros(5 * idx.size + 64, np.uint8)
    m = enc["gaps_encode"](idx, n, buf)
    out["gaps"] = buf[:m].copy()
    buf = np.zeros(5 * idx.size + 64, np.uint8)
    m = enc["grouped_encode"](idx, gstart, buf)
    out["grouped"] = buf[:m].copy()
    for g in (0, 1):
        buf = np.zeros(3 * idx.size + 64, np.uint8)
        m = enc["labels_encode"](idx, lab, c, gstart, g, buf)
        out[f"labels{g}"] = buf[:m].copy()
    buf = np.zeros(5 * idx.size + 64, np.uint8)
    m = enc["density_encode"](idx, n, buf)
    out["density"] = buf[:m].copy()
    buf = np.zeros(3 * idx.size + 64, np.uint8)
    m = enc["uniform_labels_encode"](lab, c, buf)
    out["uniform"] = buf[:m].copy()
    for a in DIRICHLET_SHIFTS:
        buf = np.zeros(3 * idx.size + 64, np.uint8)
        m = enc["dirichlet_labels_encode"](lab, c, a, buf)
        assert m > 0, (a, m)
        out[f"dirichlet{a}"] = buf[:m].copy()
    return out


@pytest.mark.parametrize("seed", range(24))
def test_same_bytes_and_same_decoding(seed):
    idx, lab, n, c, groups = small_case(seed)
    gstart = folder_starts(groups)
    nb = {name: both(name)[0] for name in NAMES}
    ref = {name: both(name)[1] for name in NAMES}
    a, b = encode_all(nb, idx, lab, n, c, gstart), encode_all(ref, idx, lab, n, c, gstart)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    rng = np.random.default_rng(seed + 1000)
    statuses = set()
    for key, data in a.items():
        for stream in [data] + mutations(rng, data, 6):
            outs = [np.zeros(idx.size, np.int64), np.zeros(idx.size, np.int64)]
            res = []
            for fns, o in zip((nb, ref), outs):
                if key == "gaps":
                    res.append(int(fns["gaps_decode"](stream, n, o)))
                elif key == "grouped":
                    res.append(int(fns["grouped_decode"](stream, gstart, o)))
                elif key == "density":
                    res.append(int(fns["density_decode"](stream, n, o)))
                elif key == "uniform":
                    res.append(int(fns["uniform_labels_decode"](stream, c, o)))
                elif key.startswith("dirichlet"):
                    res.append(int(fns["dirichlet_labels_decode"](stream, c, o)))
                else:
                    res.append(int(fns["labels_decode"](stream, idx, c, gstart, int(key[-1]), o)))
            assert res[0] == res[1], (key, res)
            statuses.add(res[0])
            if res[0] == 0:
                np.testing.assert_array_equal(outs[0], outs[1])
                if stream is data:
                    is_labels = key in ("labels0", "labels1", "uniform") or key.startswith("dirichlet")
                    np.testing.assert_array_equal(outs[0], lab if is_labels else idx)
    assert 0 in statuses


def test_corrupted_streams_reach_the_error_paths():
    """Across seeds, the corrupted streams give TRUNCATED, TRAILING and OUT_OF_RANGE, not only success."""
    seen = set()
    gd, _ = both("gaps_decode")
    for seed in range(40):
        idx, lab, n, c, groups = folder_payload(np.random.default_rng(seed), n_folders=10)
        buf = np.zeros(5 * idx.size + 64, np.uint8)
        m = _ext.kernel("adaptive.gaps_encode", "numba")(idx, n, buf)
        for stream in mutations(np.random.default_rng(seed), buf[:m], 10):
            seen.add(int(gd(stream, n, np.zeros(idx.size, np.int64))))
    assert {status.TRUNCATED, status.TRAILING} <= seen, seen


# ------------------------------------------------------------------------------- 0x43 dirichlet-labels

def dirichlet_labels(rng, c, k, kind):
    """Labels for the 0x43 parity cases: skewed (p_i ~ 1/(i+1)), uniform, or a single class."""
    if kind == "zipf":
        p = 1.0 / np.arange(1, c + 1)
        return rng.choice(c, size=k, p=p / p.sum()).astype(np.int64)
    if kind == "uniform":
        return rng.integers(0, c, size=k).astype(np.int64)
    return np.full(k, c - 1, np.int64)


def cuts(rng, size):
    """Truncation points: every one for short streams, else both ends and a random sample."""
    if size <= 40:
        return list(range(size))
    ends = list(range(6)) + list(range(size - 6, size))
    return sorted(set(ends + rng.integers(0, size, size=10).tolist()))


@pytest.mark.parametrize("c", [1, 2, 3, 5, 100, 1000, 65535])
def test_dirichlet_same_bytes_and_same_statuses(c):
    """Both backends: identical streams for every shift 0..7 on skewed, uniform and one-class labels,
    identical decodings, identical statuses on truncated, extended and corrupted streams."""
    enc_nb, enc_ref = both("dirichlet_labels_encode")
    dec_nb, dec_ref = both("dirichlet_labels_decode")
    rng = np.random.default_rng(c)
    statuses = set()
    for kind, k in (("zipf", 150), ("uniform", 60), ("one", 40), ("zipf", 1), ("zipf", 0)):
        lab = dirichlet_labels(rng, c, k, kind)
        for a in range(8):
            bufs = [np.zeros(3 * k + 64, np.uint8) for _ in range(2)]
            m = [int(enc_nb(lab, c, a, bufs[0])), int(enc_ref(lab, c, a, bufs[1]))]
            assert m[0] == m[1] and m[0] >= 5, (kind, k, a, m)  # the shift byte + the 4-byte flush at least
            data = bufs[0][:m[0]].copy()
            np.testing.assert_array_equal(data, bufs[1][:m[1]], err_msg=f"{kind} k={k} a={a}")
            assert data[0] == a
            if a not in (0, 7) and kind != "zipf":
                continue  # the corruptions below: enough on a subset (the reference decoder is slow)
            streams = [data, np.concatenate([data, np.zeros(1, np.uint8)])]
            streams += [data[:cut].copy() for cut in cuts(rng, data.size)]
            streams += mutations(rng, data, 8)
            for stream in streams:
                outs = [np.full(k, -9, np.int64), np.full(k, -9, np.int64)]
                res = [int(dec_nb(stream, c, outs[0])), int(dec_ref(stream.copy(), c, outs[1]))]
                assert res[0] == res[1], (kind, k, a, stream.size, data.size, res)
                statuses.add(res[0])
                if res[0] == 0:
                    np.testing.assert_array_equal(outs[0], outs[1])
                    assert outs[0].size == 0 or (outs[0].min() >= 0 and outs[0].max() < c)
                    if stream is data:
                        np.testing.assert_array_equal(outs[0], lab)
                elif stream is data:
                    raise AssertionError(f"valid stream rejected: {kind} k={k} a={a} status {res[0]}")
                if stream.size < data.size and np.array_equal(stream, data[:stream.size]):
                    assert res[0] == status.TRUNCATED, (kind, k, a, stream.size, res)
    assert {0, status.TRUNCATED, status.TRAILING} <= statuses, statuses


@pytest.mark.parametrize("first", [8, 9, 100, 128, 255])
def test_dirichlet_shift_byte_above_7_is_bad_field_in_both(first):
    rng = np.random.default_rng(first)
    lab = dirichlet_labels(rng, 100, 50, "zipf")
    buf = np.zeros(256, np.uint8)
    m = int(both("dirichlet_labels_encode")[1](lab, 100, 2, buf))
    data = buf[:m].copy()
    data[0] = first
    for dec in both("dirichlet_labels_decode"):
        assert int(dec(data, 100, np.zeros(50, np.int64))) == status.BAD_FIELD
    for enc in both("dirichlet_labels_encode"):  # the encoder refuses such a shift too
        assert int(enc(lab, 100, first, np.zeros(256, np.uint8))) == status.BAD_FIELD
        assert int(enc(lab, 100, -1, np.zeros(256, np.uint8))) == status.BAD_FIELD


def test_dirichlet_empty_stream_is_truncated_in_both():
    for dec in both("dirichlet_labels_decode"):
        assert int(dec(np.zeros(0, np.uint8), 5, np.zeros(3, np.int64))) == status.TRUNCATED
        assert int(dec(np.zeros(0, np.uint8), 5, np.zeros(0, np.int64))) == status.TRUNCATED
