#!/usr/bin/env python
"""Write the golden vectors of the compact codecs (docs/codecs/adaptive.md, docs/FORMAT.md §6.4b) once;
see README.md.

    python docs/vectors/compact/make_vectors.py           # writes missing vectors, never overwrites
    python docs/vectors/compact/make_vectors.py --force   # only with a deliberate model change

Each vector is one codec stream (the bytes of a section, without the container) made by the *reference*
kernels (plada_codec/_ext/adaptive_ref.py, geometric_ref.py): ``NAME.bin`` plus ``NAME.json`` holding the input (N, C,
indices, labels, folder sizes), the codec and the SHA-256 of the stream.  tests/compact/test_vectors.py
checks that both backends decode each stream to its input and that the encoders reproduce it byte for
byte.  ``trace.txt`` lists every binary decision of the worked example (docs/codecs/adaptive.md).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from plada_codec._ext import adaptive_ref as ref
from plada_codec._ext import geometric_ref
from plada_codec.codecs.dirichlet_labels import best_shift

HERE = Path(__file__).resolve().parent


def tiny():
    # the worked example: N = 16 in folders of 8 and 8, C = 3
    return dict(pool_size=16, num_classes=3, indices=[2, 3, 4, 9], labels=[1, 1, 1, 0], groups=[8, 8])


def folders(seed, n_folders, num_classes):
    rng = np.random.default_rng(seed)
    groups = rng.integers(20, 300, size=n_folders)
    starts = np.concatenate([[0], np.cumsum(groups)])
    idx, lab = [], []
    for f in range(n_folders):
        kept = np.flatnonzero(rng.random(groups[f]) < rng.choice([0.0, 0.02, 0.1, 0.5])) + starts[f]
        dom = rng.integers(0, num_classes)
        lf = np.where(rng.random(kept.size) < 0.3, rng.integers(0, num_classes, kept.size), dom)
        idx += kept.tolist()
        lab += lf.tolist()
    return dict(pool_size=int(starts[-1]), num_classes=num_classes, indices=idx, labels=[int(x) for x in lab],
                groups=groups.tolist())


def uniform(seed, n, k, c):
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=k, replace=False))
    return dict(pool_size=n, num_classes=c, indices=idx.tolist(), labels=rng.integers(0, c, k).tolist(),
                groups=[n])


INPUTS = {
    "tiny": (tiny(), "the worked example of docs/codecs/adaptive.md"),
    "folders": (folders(2026, 40, 25), "40 folders of 20-299 images, densities 0/2/10/50 %, dominant label "
                                       "+ 30 % uniform noise, C = 25 (numpy seed 2026)"),
    "uniform": (uniform(7, 2**32 - 1, 200, 65535), "200 uniform indices of N = 2^32-1, uniform labels, "
                                                   "C = 65535 (numpy seed 7)"),
}


def dirichlet_shift(inp: dict) -> int:
    """The prior exponent the 0x43 encoder picks for these labels (recorded in the vector's JSON)."""
    lab = np.array(inp["labels"], np.int64)
    return best_shift(np.bincount(lab, minlength=inp["num_classes"])) if lab.size else 0


def encode(codec: str, inp: dict, shift=None) -> bytes:
    idx = np.array(inp["indices"], np.int64)
    lab = np.array(inp["labels"], np.int64)
    gstart = np.concatenate([[0], np.cumsum(inp["groups"])]).astype(np.int64)
    out = np.zeros(5 * idx.size + 64, np.uint8)
    if codec == "adaptive-gaps":
        n = ref.gaps_encode(idx, inp["pool_size"], out)
    elif codec == "adaptive-gaps-grouped":
        n = ref.grouped_encode(idx, gstart, out)
    elif codec == "adaptive-gaps-density":
        n = ref.density_encode(idx, inp["pool_size"], out)
    elif codec == "uniform-labels":
        n = ref.uniform_labels_encode(lab, inp["num_classes"], out)
    elif codec == "dirichlet-labels":
        a = dirichlet_shift(inp) if shift is None else shift
        n = ref.dirichlet_labels_encode(lab, inp["num_classes"], a, out)
    elif codec == "geometric-gaps":
        n = geometric_ref.geometric_encode(idx, inp["pool_size"], out)
    else:
        n = ref.labels_encode(idx, lab, inp["num_classes"], gstart, int(codec.endswith("grouped")), out)
    assert n >= 0, n
    return out[:n].tobytes()


CODECS = {"adaptive-gaps": 0x30, "adaptive-gaps-grouped": 0x31, "adaptive-gaps-density": 0x32,
          "adaptive-labels": 0x40, "adaptive-labels-grouped": 0x41, "uniform-labels": 0x42,
          "geometric-gaps": 0x13, "dirichlet-labels": 0x43}
#: extra vectors: stem -> (input, codec, 0x43 prior exponent imposed instead of the encoder's choice), so that
#: a golden vector pins the counts' shift by a != 0 (the three main 0x43 vectors all have a = 0)
EXTRA = {"folders_dirichlet_labels_a3": ("folders", "dirichlet-labels", 3)}
#: the codecs of the binary arithmetic coder, whose decisions trace() lists (0x43, added later, is not
#: traced: its worked example is its vector tiny_dirichlet_labels)
TRACED = [c for c in CODECS if c not in ("geometric-gaps", "dirichlet-labels")]


class TracingEncoder(ref.Encoder):
    def __init__(self, capacity, log, tables):
        super().__init__(capacity)
        self.log, self.tables = log, tables

    def code(self, bit, ctx, i, limit):
        p = ctx.p[i]
        r = self.x2 - self.x1
        xmid = self.x1 + (r >> 16) * p + (((r & 0xFFFF) * p) >> 16)
        before = len(self.out)
        super().code(bit, ctx, i, limit)
        emitted = self.out[before:].hex()
        self.log.append(f"{self.tables.get(id(ctx), '?'):9s} ctx {i:6d}  p1 {p:5d}  bit {bit}  xmid {xmid:08x}"
                        f"  -> x1 {self.x1:08x} x2 {self.x2:08x}  p1' {ctx.p[i]:5d}  out {emitted or '-'}")
        return bit


    def uniform(self, v, C, R):
        x1, x2, before = self.x1, self.x2, len(self.out)
        super().uniform(v, C, R)
        emitted = self.out[before:].hex()
        self.log.append(f"uniform   C {C:5d}  R {R:10d}  v {v:5d}  bounds {x1:08x}..{x2:08x}"
                        f"  -> x1 {self.x1:08x} x2 {self.x2:08x}  out {emitted or '-'}")
        return v


def trace() -> str:
    inp = tiny()
    lines = []
    for codec in TRACED:
        log = []
        enc = TracingEncoder(1 << 20, log, {})
        orig_contexts = ref.Contexts
        names = iter(["buckets", "mantissa", "buckets", "mantissa"])

        class Named(orig_contexts):
            def __init__(self, n):
                super().__init__(n)
                enc.tables[id(self)] = f"T{n}"

        ref.Contexts = Named
        try:
            idx = [int(v) for v in inp["indices"]]
            gstart = [0, 8, 16]
            if codec == "adaptive-gaps":
                ref._gaps(enc, idx, 16, False)
            elif codec == "adaptive-gaps-grouped":
                ref._grouped(enc, idx, gstart, False)
            elif codec == "adaptive-gaps-density":
                ref._density(enc, idx, 16, False)
            elif codec == "uniform-labels":
                ref._uniform(enc, inp["labels"], 3, False)
            else:
                ref._labels(enc, np.array(idx), np.array(inp["labels"]), 3, gstart, codec.endswith("grouped"), False)
        finally:
            ref.Contexts = orig_contexts
        enc.out += enc.x1.to_bytes(4, "big")
        lines.append(f"== {codec}: {len(enc.out)} bytes {bytes(enc.out).hex()}")
        lines += log
        del names
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="overwrite existing vectors")
    args = ap.parse_args(argv)
    written = 0
    for name, (inp, how) in INPUTS.items():
        for codec, cid in CODECS.items():
            stem = f"{name}_{codec.replace('-', '_')}"
            bin_path, json_path = HERE / f"{stem}.bin", HERE / f"{stem}.json"
            if bin_path.exists() and not args.force:
                continue
            data = encode(codec, inp)
            bin_path.write_bytes(data)
            meta = dict(codec=codec, codec_id=cid, description=how, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), **inp)
            if codec == "dirichlet-labels":
                meta["shift"] = dirichlet_shift(inp)
                assert data[0] == meta["shift"]
            if len(data) <= 64:
                meta["hex"] = data.hex()
            json_path.write_text(json.dumps(meta, indent=None) + "\n")
            written += 1
    for stem, (name, codec, a) in EXTRA.items():
        inp, how = INPUTS[name]
        bin_path, json_path = HERE / f"{stem}.bin", HERE / f"{stem}.json"
        if bin_path.exists() and not args.force:
            continue
        data = encode(codec, inp, shift=a)
        assert data[0] == a
        bin_path.write_bytes(data)
        meta = dict(codec=codec, codec_id=CODECS[codec], description=f"{how}; prior exponent a = {a} imposed",
                    size=len(data), sha256=hashlib.sha256(data).hexdigest(), **inp, shift=a)
        json_path.write_text(json.dumps(meta, indent=None) + "\n")
        written += 1
    if args.force or not (HERE / "trace.txt").exists():
        (HERE / "trace.txt").write_text(trace())
    print(f"wrote {written} vectors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
