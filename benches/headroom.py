#!/usr/bin/env python
"""Write docs/HEADROOM.md: how much smaller the calibrated corpus's payloads could still get (issue 3's size
targets), measured against two models of how the corpus is made rather than against our coders.

    python benches/headroom.py [--corpus ../shared/corpus/public] [--out docs/HEADROOM.md] [--all]

1. *With folders*: what the corpus's own generative model costs when the folders are known to both ends:
   the kept positions inside each folder at log2 C(g_f, n_f) (they are random there), the per-folder counts
   at their empirical entropy (a flag "has kept images" per folder up to the last non-empty one, then the
   non-zero counts as iid draws), the labels at ``label_generative_bytes`` (benches/size_table.py), plus the
   container bytes the auto + folders payload really spends.  Compared with that payload.
2. *Without folders*: the ideal code length (no coder, real arithmetic) of a Bayesian changepoint model of
   the gap stream: before each gap the keep rate changes with probability h; a new rate is drawn from an
   equal mixture of Beta(2 q, 2 (1 - q)) priors over ten rates from 0.5 to 3e-5; a segment's gaps are
   geometric at its rate (Beta-geometric predictive); the 40 most probable hypotheses are kept after each
   gap.  Compared with adaptive-gaps (0x30), the gap coder auto picks on every calibrated file.  Files with
   k <= 150,000 only, unless ``--all`` (the model costs about 40 times our coder).
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from math import lgamma, log
from pathlib import Path

import numpy as np
from numba import njit

import plada_codec
from plada_codec.registry import StreamContext, get_by_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from size_table import Pool, label_generative_bytes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RATES = np.array([0.5, 0.2, 0.08, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5])
HAZARDS = (1 / 20, 1 / 60, 1 / 200)
KEEP = 40
SMALL_K = 150_000


def folder_model_bytes(idx: np.ndarray, groups: np.ndarray):
    """(positions, counts) in bytes: sum of log2 C(g_f, n_f) over folders with kept images, and the
    empirical entropy of the counts (flag per folder up to the last non-empty one + non-zero counts)."""
    gstart = np.concatenate([[0], np.cumsum(groups)])
    n = np.bincount(np.searchsorted(gstart, idx, side="right") - 1, minlength=groups.size)
    kept = np.nonzero(n)[0]
    positions = sum(lgamma(g + 1) - lgamma(m + 1) - lgamma(g - m + 1)
                    for g, m in zip(groups[kept].tolist(), n[kept].tolist())) / log(2)
    span = n[: kept[-1] + 1] if kept.size else n[:0]

    def entropy(values):
        _, c = np.unique(values, return_counts=True)
        return float(-(c * np.log2(c / c.sum())).sum())

    return positions / 8, (entropy(span > 0) + entropy(span[span > 0])) / 8


@njit(cache=True)
def _lbeta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


@njit(cache=True)
def changepoint_bits(gaps, h, rates, keep):
    """Ideal code length in bits of ``gaps`` under the changepoint mixture (see the module docstring)."""
    J = rates.shape[0]
    cap = keep + J
    lw = np.full(cap, -1e300)
    n = np.zeros(cap)
    S = np.zeros(cap)
    A = np.zeros(cap)
    B = np.zeros(cap)
    H = 0
    for j in range(J):
        lw[H] = -log(J)
        A[H] = 2 * rates[j]
        B[H] = 2 * (1 - rates[j])
        H += 1
    total = 0.0
    for t in range(gaps.shape[0]):
        u = gaps[t]
        m = lw[:H].max()
        lz = m + log(np.exp(lw[:H] - m).sum())  # = 0 after the renormalisation below
        for i in range(H):
            lw[i] += log(1 - h)
        for j in range(J):  # a change: the mass h restarts on every prior component
            lw[H] = lz + log(h) - log(J)
            A[H] = 2 * rates[j]
            B[H] = 2 * (1 - rates[j])
            n[H] = 0
            S[H] = 0
            H += 1
        for i in range(H):
            a = A[i] + n[i]
            b = B[i] + S[i] - n[i]
            lw[i] += _lbeta(a + 1, b + u - 1) - _lbeta(a, b)
            n[i] += 1
            S[i] += u
        m = lw[:H].max()
        lz2 = m + log(np.exp(lw[:H] - m).sum())
        total -= (lz2 - lz) / log(2)
        if H > keep:
            order = np.argsort(-lw[:H])[:keep]
            lw[:keep], n[:keep], S[:keep] = lw[order], n[order], S[order]
            A[:keep], B[:keep] = A[order], B[order]
            H = keep
        lw[:H] -= lz2
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus" / "public"))
    ap.add_argument("--out", default=str(REPO / "docs" / "HEADROOM.md"))
    ap.add_argument("--all", action="store_true", help=f"the changepoint model on every file, not only k <= {SMALL_K:,}")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    entries = [e for e in json.loads((corpus / "manifest.json").read_text())["entries"] if e["kind"] == "dataset"]
    gaps_codec = get_by_name("adaptive-gaps")
    t0 = time.time()
    rows = []
    for e in entries:
        z = np.load(corpus / e["file"])
        idx, lab = z["indices"].astype(np.int64), z["labels"].astype(np.int64)
        groups = z["group_sizes"].astype(np.int64)
        n, c, k = int(z["pool_size"]), int(z["num_classes"]), idx.size
        blob_g = plada_codec.encode(idx, lab, pool_size=n, num_classes=c, pool=Pool(groups, n), verify=False)
        container = len(blob_g) - sum(s["encoded_bytes"] for s in plada_codec.inspect(blob_g)["sections"]
                                      if s["type"] in ("indices", "labels"))
        positions, counts = folder_model_bytes(idx, groups)
        labels = label_generative_bytes(idx, lab, groups, c)
        row = dict(file=e["file"][:-4], k=k, base=e["baseline_bytes"], auto_g=len(blob_g), positions=positions,
                   counts=counts, labels=labels, container=container, gaps=None, cp={})
        if args.all or k <= SMALL_K:
            row["gaps"] = len(gaps_codec.encode(idx, StreamContext(n, c, k)))
            u = np.diff(np.concatenate([[-1], idx])).astype(np.float64)
            row["cp"] = {h: changepoint_bits(u, h, RATES, KEEP) / 8 for h in HAZARDS}
        rows.append(row)
        print(f"{row['file']}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    Path(args.out).write_text(render(rows, time.time() - t0, argv))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def render(rows, seconds, argv) -> str:
    cmd = "python benches/headroom.py" + ("".join(f" {a}" for a in argv) if argv else "")
    out = [f"# Headroom: how much smaller the calibrated payloads could get\n",
           f"Generated by `{cmd}` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {seconds:.0f} s. "
           "Ratios are to the paper's zstd -19 baseline (`baseline_bytes`). Issue 3 asks for a median of "
           "0.80 without folders and 0.75 with them; this page asks how far the corpus's own structure lets "
           "any code go (module docstring of `benches/headroom.py` for the exact models).\n",
           "## 1. With folders: the generative model's own cost\n",
           "*Model*: kept positions inside each folder at log2 C(g_f, n_f) (the corpus keeps random images "
           "there), per-folder counts at their empirical entropy, labels at the corpus's label model (flag "
           "dominant/noise at H(rho), noise at its empirical entropy, one dominant class per non-empty folder "
           "at theirs), plus the container bytes the real payload spends. No code pays less than the first "
           "term; the other two are the cost of iid empirical distributions, which a code can beat only by "
           "finding more structure (our grouped label codec does, by about 2 %).\n",
           "| | median | worst | best |", "|---|---|---|---|"]

    def stat(name, values):
        out.append(f"| {name} | {statistics.median(values):.3f} | {max(values):.3f} | {min(values):.3f} |")

    model = [(r["positions"] + r["counts"] + r["labels"] + r["container"]) / r["base"] for r in rows]
    stat("auto + folders / baseline", [r["auto_g"] / r["base"] for r in rows])
    stat("folder model / baseline", model)
    stat("of which positions", [r["positions"] / r["base"] for r in rows])
    stat("of which counts", [r["counts"] / r["base"] for r in rows])
    stat("of which labels", [r["labels"] / r["base"] for r in rows])
    out.append(f"\nFiles where the folder model itself is at or below 0.75: "
               f"{sum(m <= 0.75 for m in model)} of {len(rows)}.\n")
    cp_rows = [r for r in rows if r["cp"]]
    if cp_rows:
        out += ["## 2. Without folders: an ideal changepoint model of the gaps\n",
                f"{len(cp_rows)} files. Ideal code length (no coder overhead) of the changepoint mixture, "
                "per hazard h (the chance of a new keep rate before each gap), over the bytes of "
                "adaptive-gaps (0x30). Below 1: the model would be smaller.\n",
                "| file | k | 0x30 bytes | " + " | ".join(f"h = 1/{round(1 / h)}" for h in HAZARDS) + " | best h |",
                "|---|---|---|" + "---|" * (len(HAZARDS) + 1)]
        for r in cp_rows:
            ratios = [r["cp"][h] / r["gaps"] for h in HAZARDS]
            out.append(f"| {r['file']} | {r['k']} | {r['gaps']} | " + " | ".join(f"{x:.4f}" for x in ratios)
                       + f" | {min(ratios):.4f} |")
        best = [min(r["cp"][h] for h in HAZARDS) / r["gaps"] for r in cp_rows]
        share = [r["gaps"] / r["base"] for r in cp_rows]
        gain = [(1 - b) * s for b, s in zip(best, share)]
        out.append(f"\nMedian over these files, best h per file: {statistics.median(best):.4f} of the gap "
                   f"stream; the gap stream is {statistics.median(share):.3f} of the baseline, so the whole "
                   f"payload would shrink by a median {statistics.median(gain):.4f} of the baseline.\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
