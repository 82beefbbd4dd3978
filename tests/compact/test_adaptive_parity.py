"""Numba kernels against the plain-Python reference (plada_codec/_ext/adaptive_*): identical return
values, identical bytes, identical decoded arrays, identical error statuses on corrupted streams."""
from __future__ import annotations

import numpy as np
import pytest

from plada_codec import _ext
from plada_codec._ext import status

from .helpers import folder_payload, folder_starts, mutations

NAMES = ["gaps_encode", "gaps_decode", "grouped_encode", "grouped_decode", "labels_encode", "labels_decode",
         "density_encode", "density_decode", "uniform_labels_encode", "uniform_labels_decode"]


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
                else:
                    res.append(int(fns["labels_decode"](stream, idx, c, gstart, int(key[-1]), o)))
            assert res[0] == res[1], (key, res)
            statuses.add(res[0])
            if res[0] == 0:
                np.testing.assert_array_equal(outs[0], outs[1])
                if stream is data:
                    np.testing.assert_array_equal(outs[0], lab if key in ("labels0", "labels1", "uniform") else idx)
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
