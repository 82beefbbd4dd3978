"""Every payload of the shared corpus (../shared/corpus/public, see its README) round-trips exactly, with
and without the pool's folder information; on the uniform-random controls with k >= 100*C the auto codec is
within 3 % of the order-0 bound; `inspect` prints per-section bytes, bits per kept image and the ratio.
Skipped when the corpus is not present."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import plada_codec
from plada_codec.bounds import order0_bound_bits
from plada_codec.cli import main


class CorpusPool:
    """Identity + folder sizes of a corpus pool (the images themselves are not needed to decode)."""

    def __init__(self, name, group_sizes):
        self.group_sizes = np.asarray(group_sizes, dtype=np.int64)
        n = int(self.group_sizes.sum())
        self.identity = plada_codec.PoolIdentity(name, n, hashlib.sha256(self.group_sizes.tobytes()).digest())


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    entries = {e["file"]: e for e in manifest["entries"]}
    files = sorted(corpus_dir.glob("*.npz"))
    assert files and {f.name for f in files} == set(entries), "corpus files and manifest.json disagree"
    return [(f, entries[f.name]) for f in files]


def load(path):
    with np.load(path) as z:
        return (z["indices"], z["labels"], int(z["pool_size"]), int(z["num_classes"]),
                z["group_sizes"] if "group_sizes" in z else None)


@pytest.mark.slow  # ~6 s compiled; the NUMBA_DISABLE_JIT pass (scripts/test.sh) skips it
def test_every_corpus_payload_roundtrips(corpus, tmp_path, capsys):
    controls = []
    for path, entry in corpus:
        idx, lab, n, c, groups = load(path)
        assert len(idx) == entry["k"] and n == entry["pool_size"] and c == entry["num_classes"]
        counts = np.bincount(lab.astype(np.int64), minlength=c)
        bound = order0_bound_bits(n, counts)
        assert bound == pytest.approx(entry["order0_bound_bits"], abs=1.0), path.name
        blob = plada_codec.encode(idx, lab, pool_size=n, num_classes=c)
        p = plada_codec.decode(blob)
        assert np.array_equal(p.indices, idx) and np.array_equal(p.labels, lab), path.name
        ratio = 8 * len(blob) / bound
        if entry["kind"].startswith("control") or path.name.startswith("control_"):
            controls.append((path.name, len(idx), c, ratio))
        if groups is not None:  # with folder side information: codecs that need groups become candidates
            pool = CorpusPool(path.stem, groups)
            blob_g = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=pool)
            q = plada_codec.decode(blob_g, pool=pool)
            assert np.array_equal(q.indices, idx) and np.array_equal(q.labels, lab), path.name
            assert len(blob_g) <= len(blob) + 32 + len(path.stem) + 1  # only the pool block can cost more
        # `inspect` on the first payload of each kind prints the figures the issue asks for
        if path.name in (corpus[0][0].name, "control_uniform_C100_21K_k1.npz"):
            out = tmp_path / "x.pld"
            out.write_bytes(blob)
            assert main(["inspect", str(out)]) == 0
            text = capsys.readouterr().out
            for s in plada_codec.inspect(blob)["sections"]:
                assert s["codec"] in text and str(s["encoded_bytes"]) in text
            assert "bits per kept image" in text and f"{ratio:.4f}" in text
    eligible = [x for x in controls if x[1] >= 100 * x[2]]
    assert eligible, "no uniform-random control with k >= 100*C in the corpus"
    report = ", ".join(f"{name}: {r:.4f}" for name, _, _, r in eligible)
    print(f"\nauto codec / order-0 bound on controls with k >= 100*C: {report}")
    worst = max(r for *_, r in eligible)
    assert worst <= 1.03, f"auto codec above 1.03x the order-0 bound: {report}"
    assert min(r for *_, r in eligible) >= 0.98  # a random payload cannot beat its bound by much
