#!/usr/bin/env python
"""Print two markdown tables: each stream codec's decode rate alone (the ``fast_decode`` flags), and
codec="auto" against codec="fast" on three 1.4 M / 0.7 M payloads (bytes, whole ``plada_codec.decode`` and
``plada_codec.encode(verify=False)`` wall time, kernels warm, best of runs).

    python benches/presets.py [--corpus ../shared/corpus/public] [--decode-runs 7] [--encode-runs 3]

Last, the bytes of codec="fast" against codec="auto" and the paper's baseline over the whole corpus.

The payloads: the public 1.4 M uniform control, a 1.4 M uniform subset of the same pool with Zipf labels
(p_c proportional to 1 / (c + 1), C = 100, numpy seed 3: auto picks dirichlet-labels there), and the
calibrated CUB-200_21K_k5 (auto picks the adaptive coders).  docs/SPEED.md holds the output.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import plada_codec
from plada_codec.registry import SectionType, StreamContext, list_codecs

REPO = Path(__file__).resolve().parent.parent
POOL_21K = 14_197_122


def payloads(corpus: Path):
    rng = np.random.default_rng(3)
    k, c = 1_419_712, 100
    idx = np.sort(rng.choice(POOL_21K, k, replace=False)).astype(np.int64)
    p = 1.0 / np.arange(1, c + 1)
    yield "1.4 M uniform subset, Zipf labels (C = 100)", idx, rng.choice(c, k, p=p / p.sum()).astype(np.int64), c
    for name in ("control_uniform_C100_21K_k10", "CUB-200_21K_k5"):
        with np.load(corpus / f"{name}.npz") as z:
            yield name, z["indices"].astype(np.int64), z["labels"].astype(np.int64), int(z["num_classes"])


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "public")
    ap.add_argument("--decode-runs", type=int, default=7)
    ap.add_argument("--encode-runs", type=int, default=3)
    args = ap.parse_args(argv)
    what, idx, lab, c = next(payloads(args.corpus))
    k = idx.shape[0]
    print(f"Each stream codec alone on the {what}: decode, best of {args.decode_runs}.\n")
    print("| codec | section | in codec=\"fast\" | stream bytes | decode ms | M values/s |")
    print("|---|---|---|---:|---:|---:|")
    for kind, values in ((SectionType.INDICES, idx), (SectionType.LABELS, lab)):
        for codec in list_codecs(kind):
            if codec.needs_groups or not codec.auto:
                continue
            ctx = StreamContext(POOL_21K, c, k, indices=idx if kind == SectionType.LABELS else None)
            data = codec.encode(values, ctx)
            if data is None:
                continue
            data = bytes(data)
            dt = best(lambda: codec.decode(data, ctx), args.decode_runs)
            print(f"| {codec.name} | {kind.name.lower()} | {'yes' if codec.fast_decode else 'no'} | {len(data):,} "
                  f"| {dt * 1e3:.1f} | {k / dt / 1e6:.1f} |", flush=True)
    print()
    print("| payload | codec= | sections | bytes | decode ms | decode M/s | encode ms | encode M/s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for what, idx, lab, c in payloads(args.corpus):
        for choice in ("auto", "fast"):
            enc = lambda: plada_codec.encode(idx, lab, pool_size=POOL_21K, num_classes=c, codec=choice,
                                             verify=False)
            blob = plada_codec.encode(idx, lab, pool_size=POOL_21K, num_classes=c, codec=choice)  # warms up
            plada_codec.decode(blob)
            dt = best(lambda: plada_codec.decode(blob), args.decode_runs)
            et = best(enc, args.encode_runs)
            names = "+".join(s["codec"] for s in plada_codec.inspect(blob)["sections"])
            k = idx.shape[0]
            print(f"| {what} | {choice} | {names} | {len(blob):,} | {dt * 1e3:.1f} | {k / dt / 1e6:.1f} "
                  f"| {et * 1e3:.0f} | {k / et / 1e6:.1f} |", flush=True)
    print()
    ratios = {"dataset": [], "control": []}
    for entry in json.loads((args.corpus / "manifest.json").read_text())["entries"]:
        with np.load(args.corpus / entry["file"]) as z:
            idx, lab = z["indices"].astype(np.int64), z["labels"].astype(np.int64)
            n, c = int(z["pool_size"]), int(z["num_classes"])
        auto, fast = (len(plada_codec.encode(idx, lab, pool_size=n, num_classes=c, codec=choice, verify=False))
                      for choice in ("auto", "fast"))
        ratios[entry["kind"]].append((fast / auto, fast / entry["baseline_bytes"], auto / entry["baseline_bytes"]))
    print("| corpus files | fast / auto: min | median | max | fast / baseline: median | max | auto / baseline: median |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, rows in ratios.items():
        fa, fb, ab = zip(*rows)
        print(f"| {len(rows)} {'calibrated' if kind == 'dataset' else 'controls'} | {min(fa):.3f} "
              f"| {statistics.median(fa):.3f} | {max(fa):.3f} | {statistics.median(fb):.3f} | {max(fb):.3f} "
              f"| {statistics.median(ab):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
