"""Selection: from pool scores to the kept (index, label) pairs of a payload.

Budget — exactly one of:

* ``fraction`` f in (0, 1]: keep ``k = max(1, round(f * N))`` images;
* ``count`` k: keep k images;
* ``max_bytes`` B: keep the largest k whose *encoded payload* (this pool, these class names and
  metadata, codec choice as given) is at most B bytes; see :func:`select` for the search.

Ranking: the rule (:mod:`.rules`) gives each pool image a key; smaller keys are kept first, ties by
lower pool index.  Labels are the teacher's argmax.

Safety-Net (the paper's guard against class collapse at small budgets): a share ``s`` of the budget,
``Q = floor(s * k)``, is split into per-class quotas ``K_c`` proportional to ``N_c ** alpha`` (``N_c``:
pool images pseudo-labelled c; classes with ``N_c = 0`` get nothing), capped at ``N_c`` with the excess
re-spread over the other classes (water-filling), rounded by largest remainder (ties: lower class).
Each class keeps its ``K_c`` best images; the remaining ``k - sum K_c`` are filled by global rank from the
images not yet kept.  Defaults (:data:`DEFAULT_SAFETY_NET`): ``alpha = -0.2`` (the paper's value,
favouring tail classes) and ``s = 0.5`` (the paper does not state s; half the budget guarantees every
predicted class a share while the other half follows the global ranking).

>>> import numpy as np
>>> class_quotas(np.array([100, 10, 0, 1]), 9, alpha=-0.2).tolist()
[3, 5, 0, 1]
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from ..errors import PladaError, UsageError
from .rules import get_rule, rule_keys

#: probe this many k beyond the bisection result (the size is not exactly monotone in k)
DEFAULT_PROBE = 8
#: larger k checked (evenly spaced up to N) after each bisection, for the non-monotone regions of s(k)
GRID_POINTS = 16
#: payload metadata keys the selection writes itself (a caller's ``meta`` may not use them)
RESERVED_META_KEYS = ("selection",)


def check_user_meta(meta: Mapping[str, Any]) -> None:
    """A caller's metadata may not use a key the selection writes itself (:data:`RESERVED_META_KEYS`)."""
    reserved = [key for key in RESERVED_META_KEYS if key in meta]
    if reserved:
        raise UsageError(f"meta key {', '.join(map(repr, reserved))} is written by the selection itself; "
                         f"reserved keys: {', '.join(RESERVED_META_KEYS)}")


@dataclass(frozen=True)
class SafetyNet:
    share: float = 0.5
    alpha: float = -0.2

    def __post_init__(self):
        if not 0.0 <= self.share <= 1.0:
            raise UsageError(f"Safety-Net share must be in [0, 1], got {self.share}")
        if not math.isfinite(self.alpha):
            raise UsageError(f"Safety-Net alpha must be finite, got {self.alpha}")


DEFAULT_SAFETY_NET = SafetyNet()


def class_quotas(class_counts, total: int, alpha: float) -> np.ndarray:
    """Integer quotas ``K_c`` summing to ``min(total, sum N_c)``, proportional to ``N_c ** alpha``, capped
    at ``N_c`` (water-filling), rounded by largest remainder."""
    counts = np.asarray(class_counts, dtype=np.int64)
    total = int(min(total, counts.sum()))
    quotas = np.zeros(len(counts), dtype=np.int64)
    if total <= 0:
        return quotas
    weights = np.where(counts > 0, np.power(np.maximum(counts, 1).astype(np.float64), alpha), 0.0)
    ideal = np.zeros(len(counts), dtype=np.float64)
    active = counts > 0
    remaining = float(total)
    while active.any():
        w = np.where(active, weights, 0.0)
        share = remaining * w / w.sum()
        over = active & (share > counts)
        if not over.any():
            ideal[active] = share[active]
            break
        ideal[over] = counts[over]
        remaining -= counts[over].sum()
        active &= ~over
    floor = np.minimum(np.floor(ideal + 1e-9).astype(np.int64), counts)
    short = total - int(floor.sum())
    if short > 0:
        frac = np.where(floor < counts, ideal - floor, -1.0)
        order = np.lexsort((np.arange(len(counts)), -frac))  # largest remainder, then lower class
        floor[order[:short]] += 1
    return floor


class Selector:
    """Precomputed rankings of one (keys, labels) pair: :meth:`at` gives the kept indices for any k."""

    def __init__(self, keys: np.ndarray, labels: np.ndarray, num_classes: int,
                 safety_net: Optional[SafetyNet] = None):
        self.keys = np.asarray(keys, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n = len(self.keys)
        self.safety_net = safety_net
        self.order = np.argsort(self.keys, kind="stable")
        self.counts = np.bincount(self.labels, minlength=num_classes)
        if safety_net is not None and safety_net.share > 0:
            self.by_class = np.lexsort((self.keys, self.labels))  # stable: ties keep index order
            starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
            self._lab_sorted = self.labels[self.by_class]
            self._rank_in_class = np.arange(self.n) - starts[self._lab_sorted]

    def quotas(self, k: int) -> np.ndarray:
        if self.safety_net is None or self.safety_net.share <= 0:
            return np.zeros(len(self.counts), dtype=np.int64)
        return class_quotas(self.counts, int(math.floor(self.safety_net.share * k)), self.safety_net.alpha)

    def at(self, k: int) -> np.ndarray:
        """Sorted pool indices of the k kept images."""
        if not 0 <= k <= self.n:
            raise PladaError(f"cannot keep {k} of {self.n} images")
        quotas = self.quotas(k)
        if not quotas.any():
            return np.sort(self.order[:k])
        picked = self.by_class[self._rank_in_class < quotas[self._lab_sorted]]
        taken = np.zeros(self.n, dtype=bool)
        taken[picked] = True
        fill = self.order[~taken[self.order]][:k - len(picked)]
        return np.sort(np.concatenate([picked, fill]))


@dataclass
class Selection:
    """What :func:`select` returns: the kept indices (sorted), their labels, the metadata written into
    the payload and, when a payload was encoded, its bytes."""

    indices: np.ndarray
    labels: np.ndarray
    meta: Dict[str, Any]
    payload: Optional[bytes] = None
    #: byte-budget search record (k, bytes, bytes_k_plus_1, encodes) when max_bytes was given
    search: Optional[Dict[str, Any]] = None

    @property
    def k(self) -> int:
        return len(self.indices)

    def summary(self) -> str:
        size = f"{len(self.payload):,} bytes, {8 * len(self.payload) / max(self.k, 1):.2f} bits per kept image" \
            if self.payload is not None else "not encoded"
        sel = self.meta.get("selection", {})
        return f"k={self.k:,} ({sel.get('keep_fraction', 0):.4%} of the pool), {size}, rule {sel.get('rule')}"


def resolve_count(n: int, fraction: Optional[float] = None, count: Optional[int] = None) -> int:
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise UsageError(f"fraction must be in (0, 1], got {fraction}")
        return max(1, int(round(fraction * n)))
    if not 1 <= int(count) <= n:
        raise UsageError(f"count must be in [1, {n}] (the pool's size), got {count}")
    return int(count)


def select(scores, rule="low-energy", *, fraction: Optional[float] = None, count: Optional[int] = None,
           max_bytes: Optional[int] = None, safety_net: Optional[SafetyNet] = None, pool=None,
           class_names: Optional[Sequence[str]] = None, codec="auto", meta: Optional[Mapping[str, Any]] = None,
           encode: bool = True, probe: int = DEFAULT_PROBE, limits=None,
           record: Optional[Mapping[str, Any]] = None) -> Selection:
    """Select pool images from merged ``scores`` (a :class:`~.scoring.ScoreTable`) into a payload.

    Exactly one of ``fraction``, ``count``, ``max_bytes``.  ``pool`` (a Pool, optional) is checked
    against the scores and, when it knows its folders, enables the folder-aware codecs.  With
    ``encode`` (default) the payload bytes are in ``.payload``; ``max_bytes`` always encodes.

    Byte-budget search (``max_bytes = B``).  The payload size s(k) grows with k overall but is not
    monotone: codecs adapt, a contiguous run of picks can cost less than a smaller scattered set, and near
    k = N the kept set is almost the whole pool and gets cheap again.  The search: (1) brackets, starting
    at k = min(N, B) (about one byte per kept image, the paper's order of magnitude) and doubling or
    halving until one k fits and another does not (skipped when even k = 1 does not fit: the search then
    starts at (3) from k = 0); (2) bisects to k with s(k) <= B < s(k+1); (3) probes k+1 .. k+``probe``
    and moves to the largest that fits, until ``probe`` consecutive k fail; (4) checks
    :data:`GRID_POINTS` evenly spaced k from there up to N (N included) and, when one fits, continues from
    the largest fitting one with (2).  The result never exceeds B; no k within ``probe`` above it and no
    grid point fits.  It is the largest fitting k unless s(k) dips under B in a window narrower than the
    grid spacing (the tests compare with a brute-force scan).  The metadata records ``selection.search =
    {probe}`` (constant during the search, so every s(k) measured is the exact final size);
    ``Selection.search`` holds k, its size, the size of k+1 and the number of encodes.
    :class:`~plada_codec.errors.UsageError` when no k probed fits.

    ``record``: extra keys for the ``selection`` metadata (``--rule auto`` puts its report there).
    """
    given = [v is not None for v in (fraction, count, max_bytes)]
    if sum(given) != 1:
        raise PladaError("give exactly one budget: fraction, count or max_bytes")
    if fraction is not None:
        budget: Dict[str, Any] = {"fraction": float(fraction)}
    elif count is not None:
        budget = {"count": int(count)}
    else:
        budget = {"max_bytes": int(max_bytes)}
    planner = Planner(scores, rule, budget=budget, safety_net=safety_net, pool=pool, class_names=class_names,
                      codec=codec, meta=meta, limits=limits, record=record)
    if max_bytes is None:
        return planner.build(resolve_count(scores.size, fraction, count), encode=encode)
    return planner.fit_bytes(int(max_bytes), probe)


class Planner:
    """Selections and their payloads for every k under one rule, budget record and metadata (so the
    payload size s(k) of the byte-budget search is exactly the size of the payload finally written)."""

    def __init__(self, scores, rule, *, budget: Mapping[str, Any], safety_net: Optional[SafetyNet] = None, pool=None,
                 class_names: Optional[Sequence[str]] = None, codec="auto", meta: Optional[Mapping[str, Any]] = None,
                 limits=None, record: Optional[Mapping[str, Any]] = None):
        scores.check_pool(pool)
        self.scores = scores
        self.rule = get_rule(rule)
        self.selector = Selector(rule_keys(self.rule, scores, pool), scores.label, scores.num_classes, safety_net)
        self.labels = np.asarray(scores.label, dtype=np.int64)
        self.class_names = list(class_names) if class_names is not None else scores.class_names
        self.pool = pool if pool is not None else scores.pool
        self.codec, self.limits = codec, limits
        self.user_meta = dict(meta or {})
        check_user_meta(self.user_meta)
        self.selection_meta: Dict[str, Any] = {
            "rule": self.rule.name,
            "teacher_id": scores.teacher_id,
            "temperature": scores.temperature,
            "budget": dict(budget),
            "safety_net": asdict(safety_net) if safety_net is not None else None,
            **dict(record or {}),
        }
        self.sizes: Dict[int, int] = {}

    def build(self, k: int, encode: bool = True, verify: bool = True) -> Selection:
        from .. import payload as payload_mod

        idx = self.selector.at(k)
        lab = self.labels[idx]
        n = self.scores.size
        m = dict(self.user_meta)
        m["selection"] = dict(self.selection_meta, k=int(k), keep_fraction=k / n)
        blob = None
        if encode:
            blob = payload_mod.encode(idx, lab, pool_size=n, num_classes=self.scores.num_classes,
                                      class_names=self.class_names, pool=self.pool, meta=m, codec=self.codec,
                                      limits=self.limits, verify=verify)
            self.sizes[k] = len(blob)
        return Selection(idx, lab, m, blob)

    def size(self, k: int) -> int:
        """s(k): the size in bytes of the payload keeping k images."""
        if k not in self.sizes:
            self.build(k, verify=False)
        return self.sizes[k]

    def fit_bytes(self, limit: int, probe: int = DEFAULT_PROBE) -> Selection:
        """The byte-budget search described in :func:`select`."""
        n, size = self.scores.size, self.size
        self.selection_meta["budget"] = {"max_bytes": int(limit)}
        self.selection_meta["search"] = {"probe": int(probe)}  # constant during the search
        self.sizes.clear()
        # invariant: s(lo) <= limit (or lo = 0: no fitting k found yet); s(hi) > limit when hi is known
        lo, hi = 1, None
        g = max(1, min(n, limit))
        if size(1) > limit:  # no bracket; s(k) is not monotone: k = N can still fit (probe and grid below)
            lo, hi = 0, 1
        elif size(g) <= limit:
            lo = g
            while lo < n and hi is None:
                nxt = min(n, lo * 2)
                if size(nxt) <= limit:
                    lo = nxt
                else:
                    hi = nxt
        else:
            hi = g
            while hi // 2 > 1 and size(hi // 2) > limit:
                hi //= 2
            lo = max(1, hi // 2)
        while True:
            if hi is not None:
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if size(mid) <= limit:
                        lo = mid
                    else:
                        hi = mid
            j = 1
            while j <= probe and lo + j <= n:
                if size(lo + j) <= limit:
                    lo, j = lo + j, 1
                else:
                    j += 1
            # s(k) falls again near k = N (the complement gets cheap) and after runs of contiguous picks:
            # look for a larger fitting k on a coarse grid up to N and continue from there
            grid = [int(x) for x in np.unique(np.linspace(lo + probe + 1, n, GRID_POINTS).round()) if lo + probe < x <= n]
            fitting = [x for x in grid if size(x) <= limit]
            if not fitting:
                break
            lo = max(fitting)
            above = [x for x in grid if x > lo]
            hi = above[0] if above else None
        if lo == 0:
            smallest = min(self.sizes, key=lambda k: (self.sizes[k], k))
            raise UsageError(f"max_bytes={limit}: no selection fits; the smallest of the {len(self.sizes)} payloads "
                             f"tried keeps {smallest:,} image{'s' if smallest > 1 else ''} in {self.sizes[smallest]:,} "
                             f"bytes")
        encodes = len(self.sizes)
        final = self.build(lo)
        if len(final.payload) != size(lo) or len(final.payload) > limit:  # pragma: no cover - invariant
            raise PladaError("internal error: the byte-budget payload changed size when re-encoded")
        final.search = {"k": lo, "bytes": len(final.payload),
                        "bytes_k_plus_1": size(lo + 1) if lo < n else None, "encodes": encodes}
        return final


__all__ = ["select", "Selection", "Selector", "Planner", "SafetyNet", "DEFAULT_SAFETY_NET", "class_quotas", "resolve_count",
           "RESERVED_META_KEYS", "check_user_meta"]
