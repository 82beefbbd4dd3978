"""The main job: what a task costs in bytes and what accuracy it buys (``python -m plada_codec demo``).

For each target task (an ImageFolder with ``train/``, ``val/`` and ``test/``; by default the offline
benchmark's tasks, built first if missing):

1. train a teacher on ``train/`` (it holds out a stratified 10 % for ``auto``), measure it on ``test/``;
   it trains with random shifts but no flips, and its accuracy on the held-out images flipped left-right
   decides whether the students may flip (a flip-invariant task: animals yes, digits no);
2. score the whole pool once (energy, entropy, pseudo-label);
3. at every budget (a fraction of the pool), select with vanilla (low energy), Safety-Net (low energy with
   per-class quotas), opposite (high energy) and ``auto`` (the one of those whose student is the most
   accurate on the teacher's held-out training images); encode, decode with the pool-identity check and
   assert the round trip is exact; train a student on the decoded payload only; measure it on ``test/``;
4. baselines at the vanilla payload's byte size: (a) random target training images sent as JPEG
   (quality 30) + zstd -19, as the source paper does, trained the same way; (b) a random pool subset with
   the teacher's labels, encoded by the same codec.

Writes ``results.csv``, ``results.json``, ``results.md`` and ``accuracy_vs_bytes.png`` into ``--out``.
The same code runs on any pool folder (``--pool``) and any target folder (``--target``, repeatable): the
offline benchmark is the default, never a special case.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import PladaError

#: (method label, selection rule, Safety-Net?) trained at every budget
PLADA_METHODS: Tuple[Tuple[str, str, bool], ...] = (
    ("vanilla", "low-energy", False),
    ("safety-net", "low-energy", True),
    ("opposite", "high-energy", False),
)
METHOD_ORDER = ("vanilla", "safety-net", "opposite", "auto", "random-pool", "jpeg")


@dataclass
class DemoConfig:
    budgets: Tuple[float, ...] = (0.005, 0.01, 0.05)
    methods: Tuple[str, ...] = ("vanilla", "safety-net", "opposite")
    auto: bool = True
    baselines: bool = True
    teacher_arch: str = "small-cnn"
    teacher_epochs: int = 4
    teacher_batch_size: int = 64
    teacher_lr: float = 4e-3
    #: the teacher trains with random shifts only: horizontal flips are wrong for digits and glyphs, and
    #: a teacher trained without them can tell whether the task is flip-invariant (below)
    teacher_flip: bool = False
    #: random pool images added to the teacher's training set as one extra "pool background" class
    #: (outlier exposure); the teacher then scores ``logit_c - logit_background``.  0: a plain teacher.
    teacher_background: int = 6000
    #: ``fast-cnn``: small-cnn with an earlier pool, 1.5x faster to train and as accurate a student
    student: str = "fast-cnn"
    #: images a student sees in training (epochs = ceil(samples / kept), clamped to [1, max_epochs])
    student_samples: int = 40000
    student_max_epochs: int = 80
    student_batch_size: int = 64
    student_lr: float = 4e-3
    #: label smoothing of the students' cross-entropy (pseudo-labels are noisy)
    student_label_smoothing: float = 0.1
    #: students flip images horizontally: True, False, or None = when the task is flip-invariant, i.e.
    #: the teacher's accuracy on its held-out images flipped is at least ``flip_invariance`` x unflipped
    student_flip: Optional[bool] = None
    flip_invariance: float = 0.9
    #: train in NHWC memory format (~5-10 % faster on a CPU)
    channels_last: bool = True
    #: ``auto`` judges each candidate by the held-out accuracy of the demo's own student trained on it
    #: ("student", reusing the students of the other methods) or by small proxies ("proxy", the
    #: ``select --rule auto`` default, sized by proxy_epochs / proxy_max_images)
    auto_judge: str = "student"
    #: the candidates ``auto`` chooses from (names of PLADA_METHODS, or "entropy"); with the "student"
    #: judge, candidates that are trained methods cost nothing extra
    auto_candidates: Tuple[str, ...] = ("vanilla", "safety-net", "opposite")
    proxy_epochs: int = 1
    proxy_max_images: int = 500
    jpeg_quality: int = 30
    zstd_level: int = 19
    image_size: int = 32
    seed: int = 0

    def recipe(self, flip: bool):
        """The students' :class:`~plada_codec.student_workers.StudentRecipe`."""
        from .student_workers import StudentRecipe

        return StudentRecipe(model=self.student, image_size=self.image_size, samples=self.student_samples,
                             max_epochs=self.student_max_epochs, batch_size=self.student_batch_size,
                             lr=self.student_lr, label_smoothing=self.student_label_smoothing, flip=bool(flip),
                             seed=self.seed, channels_last=self.channels_last)


#: default number of student worker processes on a machine with many cores (each holds ~0.3 GB)
MAX_DEFAULT_WORKERS = 4

QUICK = DemoConfig(budgets=(0.01, 0.05), methods=("vanilla", "safety-net"), teacher_epochs=3, teacher_background=3000,
                   student_samples=6000, student_max_epochs=20, proxy_epochs=1, proxy_max_images=500,
                   auto_candidates=("vanilla", "safety-net"))
FULL = DemoConfig()


# ------------------------------------------------------------------------------------------------ data

@dataclass
class Split:
    images: np.ndarray  # uint8 (n, S, S, 3)
    labels: np.ndarray  # int64
    classes: List[str]


def load_split(folder, image_size: int = 32, progress: bool = False) -> Split:
    """A labelled folder (``<class>/<image>``) as arrays, resized to ``image_size`` RGB."""
    from PIL import Image

    from .pool import Pool

    pool = Pool.from_folder(folder, cache=False)
    tops = [p.split("/", 1)[0] for p in pool.paths]
    classes = sorted(set(tops))
    index = {c: i for i, c in enumerate(classes)}
    images = np.empty((len(pool), image_size, image_size, 3), np.uint8)
    for i in range(len(pool)):
        im = pool.load_image(i).convert("RGB")
        if im.size != (image_size, image_size):
            im = im.resize((image_size, image_size), Image.BILINEAR)
        images[i] = np.asarray(im)
    return Split(images, np.array([index[t] for t in tops], dtype=np.int64), classes)


def _check_target(root: Path) -> None:
    missing = [s for s in ("train", "test") if not (root / s).is_dir()]
    if missing:
        raise PladaError(f"target {root} needs train/ and test/ folders (and optionally val/); "
                         f"missing: {', '.join(missing)}")


# --------------------------------------------------------------------------------------- JPEG baseline

def jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    """One image as JPEG; gray images (equal channels) as 1-channel JPEG, as a sender would."""
    from PIL import Image

    gray = bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())
    im = Image.fromarray(img[..., 0] if gray else img, "L" if gray else "RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def jpeg_payload_size(blobs: Sequence[bytes], labels: np.ndarray, level: int) -> int:
    """Bytes of the baseline message: length-prefixed JPEGs + one label byte each, zstd-compressed."""
    import zstandard

    parts = [len(b).to_bytes(2, "little") + b for b in blobs]
    raw = b"".join(parts) + np.asarray(labels, dtype=np.uint16).tobytes()
    return len(zstandard.ZstdCompressor(level=level).compress(raw))


def jpeg_baseline_set(train: Split, max_bytes: int, quality: int, level: int, seed: int):
    """The largest prefix of a random order of ``train`` whose JPEG+zstd message fits ``max_bytes``;
    returns (decoded images, labels, message bytes)."""
    from PIL import Image

    order = np.random.default_rng(seed).permutation(len(train.labels))
    blobs = [jpeg_bytes(train.images[i], quality) for i in order[:4096]]
    lo, hi = 0, len(blobs)  # largest m with size(m) <= max_bytes
    sizes: Dict[int, int] = {0: 0}

    def size(m):
        if m not in sizes:
            sizes[m] = jpeg_payload_size(blobs[:m], train.labels[order[:m]], level)
        return sizes[m]

    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(mid) <= max_bytes:
            lo = mid
        else:
            hi = mid - 1
    m = lo
    decoded = []
    for b in blobs[:m]:
        decoded.append(np.asarray(Image.open(io.BytesIO(b)).convert("RGB")))
    imgs = np.stack(decoded) if decoded else np.zeros((0,) + train.images.shape[1:], np.uint8)
    return imgs, train.labels[order[:m]], size(m)


def random_pool_set(scores, pool, max_bytes: int, class_names, seed: int):
    """The largest random pool subset (teacher labels) whose payload fits ``max_bytes``."""
    import plada_codec

    n = scores.size
    order = np.random.default_rng(seed).permutation(n)

    def enc(k):
        idx = np.sort(order[:k])
        return idx, plada_codec.encode(idx, scores.label[idx], pool_size=n, num_classes=scores.num_classes,
                                       class_names=class_names, pool=pool)

    lo, hi = 0, min(n, max(1, max_bytes * 8))
    best = None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        idx, blob = enc(mid)
        if len(blob) <= max_bytes:
            lo, best = mid, (idx, blob)
        else:
            hi = mid - 1
    return best


# ------------------------------------------------------------------------------------------------ demo

def _background_contrast_class():
    from torch import nn

    class BackgroundContrast(nn.Module):
        """A teacher trained with an extra "pool background" class, seen as a C-class model whose logits
        are ``logit_c - logit_background``: its energy is low only where the image looks like a target
        class *and not* like the generic pool, which a teacher trained from scratch cannot otherwise tell
        (its plain energy is lowest on high-contrast photos and icons, whatever the task)."""

        def __init__(self, net, num_classes: int):
            super().__init__()
            self.net, self.num_classes = net, int(num_classes)

        def forward(self, x):
            z = self.net(x)
            return z[:, :self.num_classes] - z[:, self.num_classes:self.num_classes + 1]

    return BackgroundContrast


def BackgroundContrast(net, num_classes: int):
    return _background_contrast_class()(net, num_classes)


def _auto_candidates(cfg: DemoConfig):
    from .server.selection import DEFAULT_SAFETY_NET

    table = {m: (rule, DEFAULT_SAFETY_NET if net else None) for m, rule, net in PLADA_METHODS}
    table["entropy"] = ("entropy", None)
    unknown = [c for c in cfg.auto_candidates if c not in table]
    if unknown or not cfg.auto_candidates:
        raise PladaError(f"auto_candidates must be some of {', '.join(table)}; got {', '.join(cfg.auto_candidates)}")
    return tuple(table[c] for c in cfg.auto_candidates)


def flip_test(model, images: np.ndarray, labels: np.ndarray, transform) -> Tuple[float, float]:
    """Accuracy of ``model`` on ``images`` and on the same images flipped left-right: a task whose classes
    survive the flip (animals facing either way) loses little, a task of glyphs (2 vs a mirrored 2) a lot."""
    from .torch_data import ArrayDataset
    from .training import evaluate

    plain = evaluate(model, ArrayDataset(images, labels, transform))
    flipped = evaluate(model, ArrayDataset(np.ascontiguousarray(images[:, :, ::-1]), labels, transform))
    return plain, flipped


def _selection_key(indices: np.ndarray, labels: np.ndarray) -> bytes:
    import hashlib

    h = hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return h.digest()


def pool_images(pool, indices) -> np.ndarray:
    """The pool's images at ``indices`` as one uint8 (n, S, S, 3) array (from memory when the pool is
    held there, else read and converted to RGB)."""
    if pool.images is not None:
        return pool.images[np.asarray(indices, dtype=np.int64)]
    return np.stack([np.asarray(pool.load_image(int(i)).convert("RGB")) for i in indices])


def run_task(name: str, root: Path, pool, cfg: DemoConfig, work: Path, progress: bool = True, log=print,
             runner=None):
    """Run the demo on one target folder; returns (task record, list of result rows).

    runner: a :class:`~plada_codec.student_workers.StudentRunner` that trains the students (default: one
    in this process)."""
    from .student_workers import StudentRunner

    if runner is None:
        with StudentRunner(1, progress=progress) as own:
            return run_task(name, root, pool, cfg, work, progress, log, own)
    import shutil

    import torch
    from torch.utils.data import Subset

    import plada_codec
    from .server.auto import choose_rule
    from .server.scoring import merge, score
    from .server.selection import DEFAULT_SAFETY_NET, select
    from .server.teacher import train_teacher
    from .torch_data import ArrayDataset, SmallImageTransform
    from .training import evaluate

    _check_target(root)
    t_task = time.perf_counter()
    train = load_split(root / "train", cfg.image_size)
    test = load_split(root / "test", cfg.image_size)
    if test.classes != train.classes:
        raise PladaError(f"{root}: test classes {test.classes} differ from train classes {train.classes}")
    classes, C = train.classes, len(train.classes)
    tf = SmallImageTransform(cfg.image_size)
    train_ds = ArrayDataset(train.images, train.labels, tf)
    test_ds = ArrayDataset(test.images, test.labels, tf)
    log(f"[{name}] {C} classes, {len(train.labels)} train / {len(test.labels)} test images; teacher "
        f"{cfg.teacher_arch}, {cfg.teacher_epochs} epochs")
    t0 = time.perf_counter()
    n_bg = min(int(cfg.teacher_background), len(pool) // 2)
    if n_bg > 0:
        bg = np.sort(np.random.default_rng(cfg.seed + 3).choice(len(pool), n_bg, replace=False))
        bg_images = pool_images(pool, bg)
        teacher_ds = ArrayDataset(np.concatenate([train.images, bg_images]),
                                  np.concatenate([train.labels, np.full(n_bg, C, np.int64)]), tf)
        teacher = train_teacher(teacher_ds, arch=cfg.teacher_arch, image_size=cfg.image_size,
                                epochs=cfg.teacher_epochs, batch_size=cfg.teacher_batch_size, lr=cfg.teacher_lr,
                                seed=cfg.seed, progress=progress, class_names=classes + ["(pool background)"],
                                flip=cfg.teacher_flip)
        teacher_model = BackgroundContrast(teacher.model, C)
        val_idx = teacher.val_indices[teacher.val_indices < len(train.labels)]
    else:
        teacher = train_teacher(train_ds, arch=cfg.teacher_arch, image_size=cfg.image_size,
                                epochs=cfg.teacher_epochs, batch_size=cfg.teacher_batch_size, lr=cfg.teacher_lr,
                                seed=cfg.seed, progress=progress, class_names=classes, flip=cfg.teacher_flip)
        teacher_model = teacher.model
        val_idx = teacher.val_indices
    teacher_acc = evaluate(teacher_model, test_ds)
    teacher_s = time.perf_counter() - t0
    log(f"[{name}] teacher test accuracy {teacher_acc:.4f} ({teacher_s:.0f} s)")
    flip_record: Dict[str, Any] = {"student_flip": cfg.student_flip, "rule": "config"}
    if cfg.student_flip is None:
        if len(val_idx):
            plain, flipped = flip_test(teacher_model, train.images[val_idx], train.labels[val_idx], tf)
            student_flip = flipped >= cfg.flip_invariance * plain
            flip_record = {"student_flip": bool(student_flip), "heldout_acc": round(plain, 4),
                           "heldout_acc_flipped": round(flipped, 4), "threshold": cfg.flip_invariance,
                           "rule": "flipped >= threshold x plain (teacher, held-out training images)"}
            log(f"[{name}] teacher on held-out images {plain:.3f}, flipped {flipped:.3f}: students "
                f"{'flip' if student_flip else 'do not flip'} images")
        else:
            student_flip, flip_record = True, {"student_flip": True, "rule": "no held-out images: flip"}
    else:
        student_flip = bool(cfg.student_flip)

    t0 = time.perf_counter()
    sdir = work / name / "scores"
    shutil.rmtree(sdir, ignore_errors=True)
    score(teacher_model, pool, sdir, class_names=classes, progress=progress, shard=(0, 1))
    scores = merge(sdir, pool)
    score_s = time.perf_counter() - t0
    label_hist = np.bincount(scores.label, minlength=C)
    log(f"[{name}] scored {scores.size} pool images ({score_s:.0f} s); pseudo-label counts {label_hist.tolist()}")
    heldout = Subset(train_ds, val_idx.tolist())
    recipe = cfg.recipe(student_flip)
    on_test = {"test": (test.images, test.labels)}
    on_test_and_heldout = {**on_test, "heldout": (train.images[val_idx], train.labels[val_idx])}

    rows: List[Dict[str, Any]] = []
    auto_choices = []
    chance = 1.0 / C

    def row(method, budget, k, nbytes, acc, epochs, seconds, **extra):
        r = {"task": name, "method": method, "budget": budget, "k": int(k), "bytes": int(nbytes),
             "test_acc": None if acc is None else round(float(acc), 4), "epochs": epochs,
             "seconds": round(seconds, 1), **extra}
        rows.append(r)
        acc_s = "   -  " if acc is None else f"{acc:.4f}"
        log(f"[{name}] {budget:7.2%} {method:12s} k={int(k):6d} {int(nbytes):7d} B  acc {acc_s}"
            + (f"  ({extra['note']})" if extra.get("note") else ""))
        return r

    def submit_student(images, labels, desc, evals=on_test):
        """A student job (submitted now, trained in a worker or at once); ``outcome`` waits for it."""
        return {"future": runner.submit(images, labels, C, recipe, evals, desc), "method": desc}

    def outcome(st):
        if "test_acc" not in st:
            res = runner.result(st.pop("future"))
            st.update(test_acc=res["accuracy"]["test"], heldout_acc=res["accuracy"].get("heldout"),
                      epochs=res["epochs"], seconds=res["seconds"])
        return st

    #: students by (indices, labels): training is seeded, so an identical selection (auto's choice, a
    #: candidate auto judges) reuses the student instead of training it again
    students: Dict[bytes, Dict[str, Any]] = {}

    def student_on(indices, labels, desc):
        key = _selection_key(indices, labels)
        reused = key in students
        if not reused:
            students[key] = submit_student(pool_images(pool, indices), labels, desc, on_test_and_heldout)
        return students[key], reused

    def plada_student(sel, method, budget, extra=None):
        """Round-trip ``sel``'s payload through the decoder (pool-identity check) and submit a student on
        the decoded selection; returns a function that waits for it and writes the row."""
        blob = sel.payload
        p = plada_codec.decode(blob, pool=pool)
        if not (np.array_equal(p.indices, sel.indices) and np.array_equal(p.labels, sel.labels)):
            raise PladaError(f"round trip failed for {name} {method} at {budget:.2%}")
        st, reused = student_on(p.indices, p.labels, f"{name} {method} {budget:.1%}")
        kept_classes = int((np.bincount(p.labels, minlength=C) > 0).sum())

        def finish(seconds=None):
            outcome(st)
            more = dict(extra or {})
            if reused:
                more["note"] = (more.get("note", "") + "; " if more.get("note") else "") + \
                    f"same selection as {st['method']}"
            held = None if st["heldout_acc"] is None else round(float(st["heldout_acc"]), 4)
            return row(method, budget, len(p), len(blob), st["test_acc"], st["epochs"],
                       st["seconds"] if seconds is None else seconds, round_trip="exact", classes_kept=kept_classes,
                       heldout_acc=held, **more)
        return finish

    def baseline_student(method, budget, k, nbytes, images, labels, **extra):
        st = submit_student(images, labels, f"{name} {method} {budget:.1%}")
        return lambda: row(method, budget, k, nbytes, outcome(st)["test_acc"], st["epochs"], st["seconds"], **extra)

    # every student of the task is submitted first (workers train them side by side), then the rows are
    # written in order as their students finish; auto waits for the students of its candidates
    plans = []
    for budget in cfg.budgets:
        plan: Dict[str, Any] = {"budget": budget, "methods": [], "baselines": []}
        vanilla_bytes = None
        for method, rule, net in PLADA_METHODS:
            if method not in cfg.methods and not (method == "vanilla" and cfg.baselines):
                continue
            sel = select(scores, rule, fraction=budget, safety_net=DEFAULT_SAFETY_NET if net else None, pool=pool,
                         class_names=classes, meta={"task": name})
            if method == "vanilla":
                vanilla_bytes = len(sel.payload)
            if method in cfg.methods:
                plan["methods"].append(plada_student(sel, method, budget))
        if cfg.baselines and vanilla_bytes is not None:
            got = random_pool_set(scores, pool, vanilla_bytes, classes, cfg.seed + 1)
            if got is None:
                plan["baselines"].append(lambda budget=budget: row("random-pool", budget, 0, 0, None, 0, 0.0,
                                                                   note="not even one image fits"))
            else:
                idx, blob = got
                p = plada_codec.decode(blob, pool=pool)
                if not np.array_equal(p.indices, idx):
                    raise PladaError(f"round trip failed for {name} random-pool at {budget:.2%}")
                plan["baselines"].append(baseline_student("random-pool", budget, len(idx), len(blob),
                                                          pool_images(pool, p.indices), p.labels,
                                                          target_bytes=vanilla_bytes))
            imgs, labs, nbytes = jpeg_baseline_set(train, vanilla_bytes, cfg.jpeg_quality, cfg.zstd_level,
                                                   cfg.seed + 2)
            if len(labs) == 0:
                plan["baselines"].append(lambda budget=budget, nbytes=nbytes, vb=vanilla_bytes: row(
                    "jpeg", budget, 0, nbytes, None, 0, 0.0, target_bytes=vb, note="not even one JPEG fits"))
            else:
                plan["baselines"].append(baseline_student("jpeg", budget, len(labs), nbytes, imgs, labs,
                                                          target_bytes=vanilla_bytes))
        plans.append(plan)

    for plan in plans:
        budget = plan["budget"]
        for finish in plan["methods"]:
            finish()
        if cfg.auto:
            t0 = time.perf_counter()
            torch.manual_seed(cfg.seed)
            if cfg.auto_judge == "student":
                def judge(sel, budget=budget):
                    st, _ = student_on(sel.indices, sel.labels, f"{name} auto candidate {budget:.1%}")
                    return outcome(st)["heldout_acc"]

                extra_args = {"proxy": judge, "proxy_record": {
                    "model": cfg.student, "samples": cfg.student_samples, "max_epochs": cfg.student_max_epochs,
                    "batch_size": cfg.student_batch_size, "lr": cfg.student_lr,
                    "label_smoothing": cfg.student_label_smoothing,
                    "flip": student_flip, "image_size": cfg.image_size, "seed": cfg.seed,
                    "what": "the demo's own student, judged on the held-out images"}}
            elif cfg.auto_judge == "proxy":
                extra_args = {}
            else:
                raise PladaError(f"auto_judge must be 'student' or 'proxy', got {cfg.auto_judge!r}")
            record = choose_rule(scores, pool, heldout, fraction=budget, candidates=_auto_candidates(cfg),
                                 proxy_model="small-cnn",
                                 proxy_epochs=cfg.proxy_epochs, proxy_max_images=cfg.proxy_max_images,
                                 image_size=cfg.image_size, batch_size=cfg.student_batch_size, seed=cfg.seed,
                                 progress=progress, class_names=classes, flip=student_flip, **extra_args)
            chosen = record["chosen"]
            net = chosen["safety_net"] is not None
            sel = select(scores, chosen["rule"], fraction=budget, safety_net=DEFAULT_SAFETY_NET if net else None,
                         pool=pool, class_names=classes, meta={"task": name}, record={"auto": record})
            label = chosen["rule"] + (" +safety-net" if net else "")
            plada_student(sel, "auto", budget, {"chosen": label, "note": f"chose {label}"})(
                seconds=None if cfg.auto_judge == "proxy" else time.perf_counter() - t0)
            auto_choices.append({"budget": budget, "chosen": label, "candidates": record["candidates"],
                                 "seconds": round(time.perf_counter() - t0, 1)})
        for finish in plan["baselines"]:
            finish()

    task = {"task": name, "root": str(root), "classes": classes, "num_classes": C, "chance": chance,
            "train_images": int(len(train.labels)), "test_images": int(len(test.labels)),
            "teacher": {"arch": cfg.teacher_arch, "epochs": cfg.teacher_epochs, "test_acc": round(teacher_acc, 4),
                        "background_images": n_bg,
                        "seconds": round(teacher_s, 1)},
            "flip": flip_record, "scoring_seconds": round(score_s, 1), "pseudo_label_counts": label_hist.tolist(),
            "auto": auto_choices, "seconds": round(time.perf_counter() - t_task, 1)}
    return task, rows


def run_demo(out: os.PathLike = "results", *, quick: bool = False, targets: Optional[Sequence[os.PathLike]] = None,
             tasks: Optional[Sequence[str]] = None, pool_dir: Optional[os.PathLike] = None, cache=None,
             config: Optional[DemoConfig] = None, threads: Optional[int] = None, workers: Optional[int] = None,
             progress: bool = True, log=print) -> Dict[str, Any]:
    """Run the demo (see the module doc); returns the results record also written to ``out``.

    threads: torch threads of this process (teachers, scoring); workers: processes that train the
    students side by side, one thread each (default: as many as this process has torch threads, at most
    :data:`MAX_DEFAULT_WORKERS`; 1 trains them here, with progress bars)."""
    import torch

    from .client.dataset import load_pool_arrays, open_pool
    from .student_workers import StudentRunner

    cfg = config or (QUICK if quick else FULL)
    if threads:
        torch.set_num_threads(int(threads))
    if workers is None:
        workers = min(torch.get_num_threads(), MAX_DEFAULT_WORKERS)
    if int(workers) < 1:
        raise PladaError(f"workers must be >= 1, got {workers}")
    t_all = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    bench = None
    if pool_dir is None or not targets:
        from .data import ensure

        bench = ensure(cache, progress=progress, log=log)
    pool_root = Path(pool_dir) if pool_dir is not None else bench.pool
    if targets:
        todo = [(Path(t).name, Path(t)) for t in targets]
    else:
        names = list(tasks) if tasks else bench.task_names()
        if quick and not tasks:
            names = ["digits"] if "digits" in names else names[:1]
        missing = [n for n in names if n not in bench.task_names()]
        if missing:
            raise PladaError(f"unknown task(s) {', '.join(missing)}; known: {', '.join(bench.task_names())}")
        todo = [(n, bench.task(n)) for n in names]
    t0 = time.perf_counter()
    pool = open_pool(pool_root)
    cache_dir = (bench.root / "arrays") if bench is not None and pool_root == bench.pool else work / "arrays"
    pool = load_pool_arrays(pool, cache_dir, progress=progress)
    log(f"pool {pool.identity.describe()} in memory ({time.perf_counter() - t0:.0f} s)")

    task_records, rows = [], []
    with StudentRunner(workers, progress=progress) as runner:
        for name, root in todo:
            rec, r = run_task(name, root, pool, cfg, work, progress=progress, log=log, runner=runner)
            task_records.append(rec)
            rows += r
            result = _record(cfg, quick, pool_root, pool, task_records, rows, t_all, workers)
            write_results(out, result)  # after every task, so a long run leaves usable partial results
    log(f"results in {out} ({result['seconds']:.0f} s)")
    return result


def _record(cfg, quick, pool_root, pool, task_records, rows, t_all, workers=1):
    import torch

    return {
        "command": "python -m plada_codec demo" + (" --quick" if quick else ""),
        "config": asdict(cfg),
        "pool": {"root": str(pool_root), "name": pool.identity.name, "size": len(pool),
                 "sha256": pool.identity.hexdigest},
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                    "student_workers": int(workers)},
        "tasks": task_records,
        "rows": rows,
        "seconds": round(time.perf_counter() - t_all, 1),
    }


# --------------------------------------------------------------------------------------------- outputs

def write_results(out: Path, result: Dict[str, Any]) -> None:
    out = Path(out)
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    fields = ["task", "method", "budget", "k", "bytes", "test_acc", "epochs", "seconds", "chosen", "note"]
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in result["rows"]:
            w.writerow(r)
    (out / "results.md").write_text(markdown_table(result))
    try:
        plot(result, out / "accuracy_vs_bytes.png")
    except ImportError:  # matplotlib is the optional `plot` extra
        pass


def _fmt_acc(r) -> str:
    if r is None or r.get("test_acc") is None:
        return "-"
    return f"{r['test_acc']:.3f}"


def markdown_table(result: Dict[str, Any]) -> str:
    lines = []
    for t in result["tasks"]:
        rows = [r for r in result["rows"] if r["task"] == t["task"]]
        lines.append(f"### {t['task']} ({t['num_classes']} classes, chance {t['chance']:.3f}, teacher "
                     f"{t['teacher']['arch']} {t['teacher']['test_acc']:.3f})\n")
        lines.append("| budget | k | bytes | vanilla | safety-net | opposite | auto (chose) | random pool (k) "
                     "| JPEG q30+zstd (images) |")
        lines.append("|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for b in sorted({r["budget"] for r in rows}):
            by = {r["method"]: r for r in rows if r["budget"] == b}
            v = by.get("vanilla") or next(iter(by.values()))
            auto = by.get("auto")
            rp, jp = by.get("random-pool"), by.get("jpeg")
            lines.append(
                f"| {b:.1%} | {v['k']:,} | {v['bytes']:,} | {_fmt_acc(by.get('vanilla'))} | "
                f"{_fmt_acc(by.get('safety-net'))} | {_fmt_acc(by.get('opposite'))} | "
                f"{_fmt_acc(auto)}{' (' + auto['chosen'] + ')' if auto else ''} | "
                f"{_fmt_acc(rp)}{' (' + format(rp['k'], ',') + ')' if rp else ''} | "
                f"{_fmt_acc(jp)}{' (' + str(jp['k']) + ')' if jp else ''} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(result: Dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, t in zip(axes[0], tasks):
        rows = [r for r in result["rows"] if r["task"] == t["task"] and r["test_acc"] is not None and r["bytes"] > 0]
        for m in METHOD_ORDER:
            pts = sorted((r["bytes"], r["test_acc"]) for r in rows if r["method"] == m)
            if pts:
                ax.plot(*zip(*pts), marker="o" if m not in ("jpeg", "random-pool") else "s",
                        linestyle="-" if m not in ("jpeg", "random-pool") else "--", label=m, markersize=4)
        ax.axhline(t["teacher"]["test_acc"], color="k", linestyle=":", linewidth=1, label="teacher")
        ax.axhline(t["chance"], color="grey", linestyle=":", linewidth=1, label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("payload bytes")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
        ax.set_title(t["task"])
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["run_demo", "run_task", "DemoConfig", "QUICK", "FULL", "jpeg_baseline_set", "random_pool_set",
           "markdown_table", "plot", "load_split"]
