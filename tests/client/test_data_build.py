"""The offline benchmark builder, with injected sources (no network, no packages)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from plada_codec.data import build as build_mod
from plada_codec.data.build import build, split_indices
from plada_codec.data.fetch import FetchError, apt_packages, pip_packages
from plada_codec.data.imaging import fit, pixel_hash, silhouette
from plada_codec.data.sources import PoolSource, TaskSource, pool_sources, task_sources
from plada_codec.errors import PladaError


def _img(v):
    a = np.zeros((32, 32, 3), np.uint8)
    a[v % 32, :, :] = 255
    a[:, (v // 32) % 32, 1] = 128
    return a


def _sources(calls):
    def task_load(pkgs):
        calls["task"] += 1
        x = np.stack([_img(i) for i in range(40)])
        return x, np.arange(40) % 2

    def pool_gen(pkgs):
        calls["pool"] += 1
        for i in range(30, 70):  # 30..39 are target images: they must be kept out of the pool
            yield ("even" if i % 2 == 0 else "odd"), _img(i)

    task = TaskSource("toy", "toy task", "none", ("a", "b"), task_load, test_fraction=0.25, val_fraction=0.25)
    pool = PoolSource("lines", "toy lines", "none", pool_gen, approx=40)
    return [pool], [task]


def test_build_layout_exclusion_and_idempotency(tmp_path):
    calls = {"task": 0, "pool": 0}
    pool, tasks = _sources(calls)
    b = build(tmp_path, pool=pool, tasks=tasks, progress=False, log=lambda *a: None)
    assert b.is_built() and b.task_names() == ["toy"]
    assert sorted(p.name for p in b.pool.iterdir()) == ["lines.even", "lines.odd"]
    pool_files = sorted(b.pool.rglob("*.png"))
    assert len(pool_files) == 30  # 40 generated, the 10 equal to target images excluded
    target_hashes = {pixel_hash(np.asarray(Image.open(p).convert("RGB"))) for p in b.task("toy").rglob("*.png")}
    pool_hashes = {pixel_hash(np.asarray(Image.open(p).convert("RGB"))) for p in pool_files}
    assert len(target_hashes) == 40 and not (target_hashes & pool_hashes)
    info = b.task_info("toy")
    assert info["counts"] == {"train": [10, 10], "val": [5, 5], "test": [5, 5]}
    m = json.loads((b.root / "MANIFEST.json").read_text())
    assert m["pool"]["images"] == 30 and m["pool"]["sources"][0]["excluded_as_target_images"] == 10
    assert m["target_images_in_pool"] == 0
    # second run: nothing is regenerated
    build(tmp_path, pool=pool, tasks=tasks, progress=False, log=lambda *a: None)
    assert calls == {"task": 1, "pool": 1}
    # a lost .done marker redoes exactly that part, from scratch
    (b.root / ".state" / "pool-lines.done").unlink()
    build(tmp_path, pool=pool, tasks=tasks, progress=False, log=lambda *a: None)
    assert calls == {"task": 1, "pool": 2} and len(sorted(b.pool.rglob("*.png"))) == 30


def test_empty_source_is_an_error(tmp_path):
    empty = PoolSource("empty", "nothing", "none", lambda pkgs: iter(()), approx=0)
    _, tasks = _sources({"task": 0, "pool": 0})
    with pytest.raises(PladaError, match="'empty' produced no image"):
        build(tmp_path, pool=[empty], tasks=tasks, progress=False, log=lambda *a: None)


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(3), [40, 20, 8])
    s1 = split_indices(labels, 0.25, 0.1, seed=7)
    s2 = split_indices(labels, 0.25, 0.1, seed=7)
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    allidx = np.concatenate(list(s1.values()))
    assert len(allidx) == len(labels) and len(np.unique(allidx)) == len(labels)
    assert np.bincount(labels[s1["test"]]).tolist() == [10, 5, 2]
    assert np.bincount(labels[s1["val"]]).tolist() == [4, 2, 1]


def test_fetch_errors_name_the_package(tmp_path):
    with pytest.raises(FetchError, match="no-such-package-plada-xyz"):
        apt_packages(["no-such-package-plada-xyz"], tmp_path)
    (tmp_path / "downloads" / "wheels").mkdir(parents=True, exist_ok=True)
    (tmp_path / "downloads" / "wheels" / "broken_pkg-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(FetchError, match="broken-pkg"):
        pip_packages(["broken-pkg==1.0"], tmp_path)


def test_imaging_fit_and_silhouette():
    im = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (10, 10, 60, 40))
    a = fit(im)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert tuple(a[16, 16]) == (255, 0, 0) and tuple(a[0, 0]) == (255, 255, 255)
    s = silhouette(im)
    assert tuple(s[16, 16]) == (255, 255, 255) and tuple(s[0, 0]) == (0, 0, 0)


def test_builtin_source_lists():
    pools, tasks = pool_sources(), task_sources()
    assert len({p.name for p in pools}) == len(pools) >= 6
    assert {t.name for t in tasks} == {"animals", "digits", "tuxpaint", "textures"}
    assert [t.name for t in tasks if t.far_ood] == ["textures"]
    assert sum(p.approx for p in pools) >= 80000
