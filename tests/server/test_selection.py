"""Selection rules on hand-made scores with a planted structure, Safety-Net quotas, byte budgets."""
from __future__ import annotations

import numpy as np
import pytest

import plada_codec
from plada_codec.errors import PladaError, PoolMismatch, UsageError
from plada_codec.pool import Pool
from plada_codec.server.selection import Planner, SafetyNet, Selector, class_quotas, select

from .conftest import make_scores


def planted(n=1000, seed=0):
    """0..99: very confident class 0; 100..299: confident class 1; 900..999: the least confident
    (class 2); 500..549: lowest entropy (class 3); everything else in between."""
    rng = np.random.default_rng(seed)
    energy = rng.uniform(-3.0, -1.0, n)
    energy[:100] = rng.uniform(-12, -10, 100)
    energy[100:300] = rng.uniform(-8, -6, 200)
    energy[900:1000] = rng.uniform(1, 2, 100)
    entropy = rng.uniform(0.5, 2.0, n)
    entropy[500:550] = rng.uniform(0.0, 0.1, 50)
    label = rng.integers(0, 4, n)
    label[:100], label[100:300], label[900:1000], label[500:550] = 0, 1, 2, 3
    return make_scores(energy, label, 4, entropy=entropy)


def test_each_rule_picks_the_planted_images():
    s = planted()
    assert select(s, "low-energy", count=100, encode=False).indices.tolist() == list(range(100))
    assert select(s, "low-energy", count=300, encode=False).indices.tolist() == list(range(300))
    assert select(s, "high-energy", count=100, encode=False).indices.tolist() == list(range(900, 1000))
    assert select(s, "entropy", count=50, encode=False).indices.tolist() == list(range(500, 550))
    sel = select(s, "low-energy", fraction=0.1, encode=False)
    assert sel.k == 100 and (sel.labels == 0).all()


def test_ties_keep_lower_indices_first():
    s = make_scores(np.zeros(50), np.arange(50) % 3, 3)
    assert select(s, "low-energy", count=7, encode=False).indices.tolist() == list(range(7))
    assert select(s, "high-energy", count=7, encode=False).indices.tolist() == list(range(7))


def test_class_quotas():
    assert class_quotas([100, 10, 0, 1], 9, alpha=-0.2).tolist() == [3, 5, 0, 1]
    assert class_quotas([50, 50, 50], 30, alpha=0.0).tolist() == [10, 10, 10]
    assert class_quotas([50, 50, 50], 31, alpha=0.0).tolist() == [11, 10, 10]  # remainder to the lower class
    assert class_quotas([2, 3], 100, alpha=-0.2).tolist() == [2, 3]  # never more than the class holds
    assert class_quotas([400, 100], 50, alpha=0.5).tolist() == [33, 17]  # 20:10 weights -> 2:1
    rng = np.random.default_rng(1)
    for _ in range(200):
        counts = rng.integers(0, 30, rng.integers(1, 12))
        total = int(rng.integers(0, 200))
        alpha = float(rng.uniform(-1, 1))
        q = class_quotas(counts, total, alpha)
        assert q.sum() == min(total, counts.sum())
        assert (q <= counts).all() and (q[counts == 0] == 0).all()


def test_safety_net_protects_rare_classes_and_keeps_the_budget():
    s = planted()
    k = 100
    vanilla = select(s, "low-energy", count=k, encode=False)
    assert set(vanilla.labels.tolist()) == {0}  # class collapse: only the easy class
    net = SafetyNet(share=0.5, alpha=-0.2)
    sel = select(s, "low-energy", count=k, safety_net=net, encode=False)
    assert sel.k == k and len(set(sel.indices.tolist())) == k
    counts = np.bincount(s.label, minlength=4)
    quotas = class_quotas(counts, 50, -0.2)
    kept = np.bincount(sel.labels, minlength=4)
    assert (kept >= quotas).all() and quotas.min() > 0
    keys = s.energy.astype(np.float64)
    for c in range(4):  # each class's quota is filled with that class's lowest-energy images
        members = np.flatnonzero(s.label == c)
        best = set(members[np.argsort(keys[members], kind="stable")][: quotas[c]].tolist())
        assert best <= set(sel.indices.tolist())
    # the rest follows the global ranking: the non-quota picks are the best images not already taken
    top = np.argsort(keys, kind="stable")[: k - quotas.sum()]
    assert set(top.tolist()) <= set(sel.indices.tolist())
    full = select(s, "low-energy", count=k, safety_net=SafetyNet(share=1.0, alpha=0.0), encode=False)
    assert np.bincount(full.labels, minlength=4).tolist() == [25, 25, 25, 25]


def test_selector_share_zero_is_vanilla():
    s = planted()
    a = Selector(s.energy, s.label, 4, SafetyNet(share=0.0)).at(77)
    b = Selector(s.energy, s.label, 4, None).at(77)
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("rule,net", [("low-energy", None), ("entropy", SafetyNet())])
def test_byte_budget_is_never_exceeded_and_is_the_largest_that_fits(rule, net):
    rng = np.random.default_rng(5)
    n = 1000
    s = make_scores(rng.normal(size=n), rng.integers(0, 5, n), 5, entropy=rng.uniform(0, 1, n))
    full = len(select(s, rule, count=n, safety_net=net).payload)
    for limit in (300, 420, full - 3):
        sel = select(s, rule, max_bytes=limit, safety_net=net)
        assert len(sel.payload) <= limit
        # brute force over every k, with the metadata the search used (so the same sizes)
        planner = Planner(s, rule, budget={"max_bytes": limit}, safety_net=net)
        planner.selection_meta["search"] = {"probe": 8}
        fitting = [k for k in range(1, n + 1) if planner.size(k) <= limit]
        assert sel.k == max(fitting), (limit, sel.k, max(fitting))
        p = plada_codec.decode(sel.payload)
        assert p.indices.tolist() == sel.indices.tolist() and p.meta["selection"]["budget"] == {"max_bytes": limit}
    with pytest.raises(UsageError, match="no selection fits"):
        select(s, rule, max_bytes=20, safety_net=net)


def test_byte_budget_on_planted_runs_never_exceeds_and_checks_its_neighbourhood():
    """With planted contiguous runs s(k) has narrow dips (keeping exactly 0..899 is cheap); the search
    guarantees the budget, and that nothing within the probe window above its answer fits."""
    s = planted(n=1000, seed=2)
    for limit in (290, 400, 520):
        sel = select(s, "low-energy", max_bytes=limit)
        planner = Planner(s, "low-energy", budget={"max_bytes": limit})
        planner.selection_meta["search"] = {"probe": 8}
        assert len(sel.payload) <= limit
        assert all(planner.size(k) > limit for k in range(sel.k + 1, min(1000, sel.k + 8) + 1))


def test_byte_budget_whole_pool_fits():
    s = make_scores(np.arange(200.0), np.arange(200) % 5, 5)
    sel = select(s, "low-energy", max_bytes=10**6)
    assert sel.k == 200 and sel.search["bytes_k_plus_1"] is None


def test_byte_budget_finds_the_whole_pool_when_one_image_does_not_fit():
    """s(k) is not monotone: with one class the whole pool is cheaper than a single scattered image, so a
    budget below s(1) can still hold k = N (the search probes its grid instead of giving up)."""
    n = 700
    s = make_scores(np.random.default_rng(0).normal(size=n), np.zeros(n, np.int64), 2)

    def planner(limit):
        p = Planner(s, "low-energy", budget={"max_bytes": limit})
        p.selection_meta["search"] = {"probe": 8}
        return p

    near = planner(999).size(n)  # the budget is in the metadata: find the smallest one the whole pool fits in
    limit = next(b for b in range(near - 5, near + 6) if planner(b).size(n) <= b)
    sizes = planner(limit)
    assert sizes.size(1) > limit >= sizes.size(n)  # the setting this test is about
    sel = select(s, "low-energy", max_bytes=limit)
    assert sel.k == n and len(sel.payload) <= limit
    assert sel.k == max(k for k in range(1, n + 1) if sizes.size(k) <= limit)


def test_meta_may_not_replace_the_selection_record():
    with pytest.raises(UsageError, match="reserved keys: selection"):
        select(planted(), "low-energy", count=5, meta={"selection": "mine"})


def test_budget_arguments():
    s = planted()
    with pytest.raises(PladaError, match="exactly one"):
        select(s, "low-energy", fraction=0.1, count=5)
    with pytest.raises(PladaError):
        select(s, "low-energy", count=0)
    with pytest.raises(PladaError):
        select(s, "low-energy", fraction=1.5)
    with pytest.raises(PladaError, match="unknown rule"):
        select(s, "no-such-rule", count=5)


def test_payload_metadata_and_pool_identity():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (60, 4, 4), dtype=np.uint8)
    names = [f"{g}/{i:02d}.png" for g in ("a", "b", "c") for i in range(20)]
    pool = Pool.from_arrays(imgs, names, name="pool-one")
    other = Pool.from_arrays(imgs, names[:-1] + ["c/99.png"], name="pool-two")
    s = make_scores(rng.normal(size=60), rng.integers(0, 3, 60), 3)
    s.pool = pool.identity
    sel = select(s, "low-energy", count=12, pool=pool, class_names=["x", "y", "z"], meta={"task": "demo"})
    p = plada_codec.decode(sel.payload, pool=pool)
    assert p.meta["task"] == "demo" and p.class_names == ["x", "y", "z"]
    m = p.meta["selection"]
    assert (m["rule"], m["k"], m["budget"], m["safety_net"], m["teacher_id"]) == ("low-energy", 12, {"count": 12}, None, "t0")
    with pytest.raises(PoolMismatch) as err:
        plada_codec.decode(sel.payload, pool=other)
    assert "pool-one" in str(err.value) and "pool-two" in str(err.value)
    with pytest.raises(PoolMismatch, match="pool-two"):  # scores of one pool, selection on another
        select(s, "low-energy", count=12, pool=other)
