"""``python -m plada_codec train`` and ``python -m plada_codec demo`` (client side; torch loads lazily)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ..plugins import names_for_help


def register(sub) -> None:
    from ..demo import FULL, MAX_DEFAULT_WORKERS, PLADA_METHODS, QUICK  # numpy only, no torch

    models = names_for_help("plada_codec.teachers")
    t = sub.add_parser(
        "train", help="train a student from a payload and a pool, optionally measure it",
        description=("Decode a payload against the pool it was built for (the pool identity is checked), "
                     "train a student on the kept pool images with their labels, and, with --eval, print "
                     "its top-1 accuracy on a labelled folder (TARGET/<class>/<image>, or TARGET/test/ "
                     "when it exists). Class folders are matched to the payload's class names by name."),
        epilog="example: python -m plada_codec train task.pld --pool ~/imagenet/train --eval target/ --out rec.json")
    t.add_argument("payload", help="the .pld payload")
    t.add_argument("--pool", required=True, metavar="DIR", help="the pool folder the payload refers to")
    t.add_argument("--eval", dest="eval_dir", default=None, metavar="TARGET",
                   help="labelled target folder to measure on")
    t.add_argument("--trainer", default="torch", metavar="NAME",
                   help="trainer plugin: " + names_for_help("plada_codec.trainers") + " (built-in and "
                        "plada_codec.trainers entry points, docs/CLIENT.md) (default: %(default)s)")
    t.add_argument("--model", default="resnet18", metavar="NAME",
                   help="student model of the torch trainer: " + models + " (the model registry: built-in and "
                        "plada_codec.teachers plugins) (default: %(default)s, the paper's student; fast-cnn, "
                        "the demo's, trains tens of times faster on a CPU)")
    t.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="torch trainer: training epochs (default: 30, or from --samples)")
    t.add_argument("--samples", type=int, default=None, metavar="N",
                   help="torch trainer: images to see in training instead of --epochs: ceil(N / kept images) "
                        "epochs, 1 to 200 (ignored with --epochs)")
    t.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed passed to the trainer (torch: initialisation, augmentation, data order) "
                        "(default: %(default)s)")
    t.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: torch's choice)")
    t.add_argument("--save-model", default=None, metavar="FILE",
                   help="write the trained torch model's state_dict here (trainers with a torch model)")
    t.add_argument("--out", default=None, metavar="FILE", help="write a JSON record of the run here")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_train)

    def joined(values) -> str:
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)

    def both(full, quick) -> str:
        """'(default: F)' or '(default: F; --quick: Q)'."""
        return f"(default: {full})" if full == quick else f"(default: {full}; --quick: {quick})"

    d = sub.add_parser(
        "demo", help="the main job: bytes vs accuracy on real images, against sending JPEGs",
        description=("Builds the offline benchmark if missing, then per task: trains a teacher, scores the "
                     "pool, selects at several budgets with vanilla, Safety-Net, opposite and auto, encodes, "
                     "decodes (asserting an exact round trip), trains a student on the payload and measures "
                     "it on the task's test split; baselines at the same byte size: random target images as "
                     "JPEG q30 + zstd -19, and a random pool subset with teacher labels. Writes results.csv, "
                     "results.json, results.md and accuracy_vs_bytes.png."),
        epilog="example: python -m plada_codec demo --quick; python -m plada_codec demo --target my_task/ --out r/")
    d.add_argument("--quick", action="store_true",
                   help=f"smoke-test settings: the digits task only (unless --tasks or --target), budgets "
                        f"{joined(QUICK.budgets)}, methods {joined(QUICK.methods)} (plus auto and the baselines), "
                        f"{QUICK.teacher_epochs} teacher epochs, {QUICK.student_samples} student samples")
    d.add_argument("--target", action="append", default=None, metavar="DIR",
                   help="a target task folder with train/ and test/, val/ optional (repeatable; default: the "
                        "benchmark's tasks)")
    d.add_argument("--tasks", default=None, metavar="NAMES",
                   help="comma-separated benchmark task names, as `data info` lists them (default: all; --quick: "
                        "digits); ignored with --target")
    d.add_argument("--pool", default=None, metavar="DIR",
                   help="pool folder (default: the benchmark's reference pool)")
    d.add_argument("--cache", default=None, metavar="DIR",
                   help="benchmark cache (default: $PLADA_CACHE or ~/.cache/plada_codec)")
    d.add_argument("--out", default="results", metavar="DIR", help="output folder (default: %(default)s/)")
    d.add_argument("--budgets", default=None, metavar="FRACTIONS",
                   help="comma-separated keep fractions of the pool "
                        + both(joined(FULL.budgets), joined(QUICK.budgets)))
    d.add_argument("--student", default=None, metavar="NAME",
                   help=f"student model: {models} " + both(FULL.student, QUICK.student)[:-1]
                        + "; resnet18 is the paper's but tens of times slower on a CPU)")
    d.add_argument("--student-samples", type=int, default=None, metavar="N",
                   help="images each student sees in training " + both(FULL.student_samples, QUICK.student_samples))
    methods = [m for m, _, _ in PLADA_METHODS]
    d.add_argument("--methods", default=None, metavar="NAMES",
                   help="comma-separated PLADA selections to train: " + ", ".join(methods) + " "
                        + both("all" if list(FULL.methods) == methods else joined(FULL.methods),
                               "all" if list(QUICK.methods) == methods else joined(QUICK.methods)))
    d.add_argument("--teacher-epochs", type=int, default=None, metavar="N",
                   help="teacher training epochs " + both(FULL.teacher_epochs, QUICK.teacher_epochs))
    d.add_argument("--student-flip", choices=("auto", "yes", "no"), default=None,
                   help="students flip images left-right: auto (default) when the teacher's accuracy on its "
                        "held-out images survives the flip (animals yes, digits no)")
    d.add_argument("--no-auto", action="store_true",
                   help="skip the auto rule (it picks among the trained selections by their students' accuracy "
                        "on the teacher's held-out training images)")
    d.add_argument("--no-baselines", action="store_true", help="skip the JPEG and random-pool baselines")
    d.add_argument("--seed", type=int, default=None, metavar="N",
                   help="seed of the teachers, students, background images and baseline picks "
                        + both(FULL.seed, QUICK.seed))
    d.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads for teachers and scoring (default: torch's choice)")
    d.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes that train the students side by side, one thread each (default: the number of "
                        f"threads, at most {MAX_DEFAULT_WORKERS}; 1: train them in this process, with progress "
                        "bars)")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)


def _eval_folder(path: str) -> str:
    test = os.path.join(path, "test")
    return test if os.path.isdir(test) else path


def cmd_train(args) -> int:
    import numpy as np

    from ..errors import PladaError
    from .dataset import PseudoLabelDataset, open_pool
    from .trainers import _Images, get_trainer

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    pool = open_pool(args.pool)
    ds = PseudoLabelDataset(pool, args.payload)
    p = ds.payload
    trainer = get_trainer(args.trainer)
    print(f"payload: {len(p):,} kept images of {p.pool_size:,}, {p.num_classes} classes; pool "
          f"{pool.identity.describe()}")
    options = {"seed": args.seed}
    if args.trainer == "torch":
        options.update(model=args.model, epochs=args.epochs, samples=args.samples, progress=not args.quiet)
    predictor = trainer.fit(_Images(pool, p.indices), np.asarray(p.labels), p.num_classes, **options)
    record = {"payload": os.path.abspath(args.payload), "pool": {"root": pool.root, "size": len(pool),
              "sha256": pool.identity.hexdigest}, "kept": len(p), "num_classes": p.num_classes,
              "trainer": args.trainer, "options": {k: v for k, v in options.items() if k != "progress"},
              "train_seconds": round(time.perf_counter() - t0, 1)}
    if args.save_model:
        model = getattr(predictor, "model", None)
        if model is None:
            raise PladaError(f"trainer {args.trainer!r} has no torch model to save")
        import torch

        torch.save(model.state_dict(), args.save_model)
    if args.eval_dir:
        from ..demo import load_split

        folder = _eval_folder(args.eval_dir)
        split = load_split(folder)
        names = p.class_names
        if names is not None:
            index = {c: i for i, c in enumerate(names)}
            truth = np.array([index.get(split.classes[y], -1) for y in split.labels], dtype=np.int64)
            if (truth < 0).all():
                raise PladaError(f"no class folder of {folder} is a payload class ({', '.join(names[:5])}, ...)")
        else:
            truth = split.labels
        pred = np.asarray(predictor.predict(split.images), dtype=np.int64)
        acc = float((pred == truth).mean())
        record.update(eval={"folder": os.path.abspath(folder), "images": int(len(truth)), "accuracy": acc,
                            "chance": 1.0 / p.num_classes})
        print(f"accuracy on {folder}: {acc:.4f} ({len(truth)} images, chance {1.0 / p.num_classes:.4f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(record, f, indent=1)
        print(f"record written to {args.out}")
    return 0


def cmd_demo(args) -> int:
    from dataclasses import replace

    from ..demo import FULL, QUICK, run_demo

    cfg = QUICK if args.quick else FULL
    if args.budgets:
        cfg = replace(cfg, budgets=tuple(float(b) for b in args.budgets.split(",")))
    if args.student:
        cfg = replace(cfg, student=args.student)
    if args.student_samples:
        cfg = replace(cfg, student_samples=args.student_samples)
    if args.methods:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        unknown = sorted(set(methods) - {"vanilla", "safety-net", "opposite"})
        if unknown:
            print(f"error: unknown method(s) {', '.join(unknown)}; known: vanilla, safety-net, opposite",
                  file=sys.stderr)
            return 2
        cfg = replace(cfg, methods=methods)
    if args.teacher_epochs:
        cfg = replace(cfg, teacher_epochs=args.teacher_epochs)
    if args.student_flip:
        cfg = replace(cfg, student_flip={"auto": None, "yes": True, "no": False}[args.student_flip])
    if args.no_auto:
        cfg = replace(cfg, auto=False)
    if args.no_baselines:
        cfg = replace(cfg, baselines=False)
    if args.seed is not None:
        cfg = replace(cfg, seed=args.seed)
    tasks = args.tasks.split(",") if args.tasks else None
    run_demo(args.out, quick=args.quick, targets=args.target, tasks=tasks, pool_dir=args.pool, cache=args.cache,
             config=cfg, threads=args.threads, workers=args.workers, progress=not args.quiet)
    return 0
