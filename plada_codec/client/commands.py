"""``python -m plada_codec train`` and ``python -m plada_codec demo`` (client side; torch loads lazily)."""
from __future__ import annotations

import json
import os
import sys
import time

from ..cli import non_negative_int, positive_int
from ..errors import InputError, UsageError
from ..files import atomic_output, check_output
from ..plugins import names_for_help


def register(sub) -> None:
    from ..demo import FULL, MAX_DEFAULT_WORKERS, PLADA_METHODS, QUICK  # numpy only, no torch

    models = names_for_help("plada_codec.teachers")
    t = sub.add_parser(
        "train", help="train a student from a payload and a pool, optionally measure it",
        description=("Decode a payload against the pool it was built for (the pool identity is checked), "
                     "train a student on the kept pool images with their labels, and, with --eval, print "
                     "its top-1 accuracy on a labelled folder (TARGET/<class>/<image>, or TARGET/test/ "
                     "when it exists). Class folders are matched to the payload's class names by name. "
                     "Options, output paths, the payload file and the --eval folder are checked before "
                     "the pool is read and before any training."),
        epilog="example: python -m plada_codec train task.pld --pool ~/imagenet/train --eval target/ --out rec.json")
    t.add_argument("payload", help="the .pld payload")
    t.add_argument("--pool", required=True, metavar="DIR", help="the pool folder the payload refers to")
    t.add_argument("--eval", dest="eval_dir", default=None, metavar="TARGET",
                   help="labelled target folder to measure on (its class folders must include payload "
                        "classes; read before training)")
    t.add_argument("--trainer", default="torch", metavar="NAME",
                   help="trainer plugin: " + names_for_help("plada_codec.trainers") + " (built-in and "
                        "plada_codec.trainers entry points, docs/CLIENT.md) (default: %(default)s)")
    t.add_argument("--model", default=None, metavar="NAME",
                   help="torch trainer: student model: " + models + " (the model registry: built-in and "
                        "plada_codec.teachers plugins) (default: resnet18, the paper's student; fast-cnn, "
                        "the demo's, trains tens of times faster on a CPU)")
    length = t.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="torch trainer: training epochs (default: 30, or from --samples)")
    length.add_argument("--samples", type=positive_int, default=None, metavar="N",
                        help="torch trainer: images to see in training instead of --epochs: ceil(N / kept images) "
                             "epochs, clamped to 1..200 (the command prints the epochs it trains)")
    t.add_argument("--device", default=None, metavar="DEV",
                   help="torch trainer: cpu, cuda, cuda:1, ... (default: auto, CUDA when available); an "
                        "unavailable device is refused before any work")
    t.add_argument("--workers", type=non_negative_int, default=None, metavar="N",
                   help="torch trainer: DataLoader worker processes that read the pool images (default: 0, "
                        "read them in this process and hold them in memory when they fit)")
    t.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed passed to the trainer (torch: initialisation, augmentation, data order) "
                        "(default: %(default)s)")
    t.add_argument("--threads", type=positive_int, default=None, metavar="N",
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
    d.add_argument("--student-samples", type=positive_int, default=None, metavar="N",
                   help="images each student sees in training " + both(FULL.student_samples, QUICK.student_samples))
    methods = [m for m, _, _ in PLADA_METHODS]
    d.add_argument("--methods", default=None, metavar="NAMES",
                   help="comma-separated PLADA selections to train: " + ", ".join(methods) + " "
                        + both("all" if list(FULL.methods) == methods else joined(FULL.methods),
                               "all" if list(QUICK.methods) == methods else joined(QUICK.methods)))
    d.add_argument("--teacher-epochs", type=positive_int, default=None, metavar="N",
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
    d.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="torch CPU threads for teachers and scoring (default: torch's choice)")
    d.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="processes that train the students side by side, one thread each (default: the number of "
                        f"threads, at most {MAX_DEFAULT_WORKERS}; 1: train them in this process, with progress "
                        "bars)")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)


#: options that only the torch trainer takes: (attribute, option); given with another trainer they are refused
#: instead of being silently ignored
TORCH_OPTIONS = (("model", "--model"), ("epochs", "--epochs"), ("samples", "--samples"), ("device", "--device"),
                 ("workers", "--workers"))


def _check_outputs(args) -> None:
    """--out and --save-model can be written (checked before any work), and overwrite neither each other nor
    the payload."""
    seen = {os.path.realpath(args.payload): "the payload"}
    for option, path in (("--save-model", args.save_model), ("--out", args.out)):
        if path is None:
            continue
        check_output(path, option)
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{option} {path} would overwrite {seen[real]}; give another file")
        seen[real] = option


def _read_payload(path: str) -> bytes:
    """The payload's bytes; a missing or unreadable file is an :class:`InputError` naming it, one larger
    than the default limit a ``LimitExceeded``, refused unread (as :func:`plada_codec.load` does)."""
    from ..errors import LimitExceeded
    from ..limits import DEFAULT_LIMITS

    try:
        if os.path.isdir(path):
            raise InputError(f"cannot read payload {path}: it is a folder")
        size = os.path.getsize(path)
        if size > DEFAULT_LIMITS.max_payload_bytes:
            raise LimitExceeded(f"payload {path} is {size} bytes, above max_payload_bytes="
                                f"{DEFAULT_LIMITS.max_payload_bytes}")
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InputError(f"cannot read payload {path}: {exc.strerror or exc}") from None


def _load_eval(target: str):
    """The labelled evaluation folder (``TARGET/test/`` when it exists, else ``TARGET``) as ``(folder,
    Split)``; anything wrong with it is an :class:`InputError` naming it, found before training."""
    from ..demo import load_split
    from ..errors import PoolError
    from ..pool import IMAGE_EXTENSIONS

    if not os.path.isdir(target):
        raise InputError(f"--eval {target}: no such folder")
    test = os.path.join(target, "test")
    folder = test if os.path.isdir(test) else target
    loose = sorted(e.name for e in os.scandir(folder)
                   if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(IMAGE_EXTENSIONS))
    if loose:
        raise InputError(f"--eval {folder}: images must sit in class folders (<class>/<image>); found the file "
                         f"{loose[0]}")
    try:
        split = load_split(folder)
    except (PoolError, OSError) as exc:
        raise InputError(f"--eval {folder}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
                         ) from None
    return folder, split


def _eval_truth(folder: str, split, payload):
    """The evaluation labels in the payload's class order (-1: a folder class the payload does not know)."""
    import numpy as np

    names = payload.class_names
    if names is None:
        if len(split.classes) > payload.num_classes:
            raise InputError(f"--eval {folder} has {len(split.classes)} class folders, but the payload has "
                             f"{payload.num_classes} classes and no class names to match them by")
        return split.labels
    index = {c: i for i, c in enumerate(names)}
    truth = np.array([index.get(c, -1) for c in split.classes], dtype=np.int64)[split.labels]
    unknown = [c for c in split.classes if c not in index]
    if len(unknown) == len(split.classes):
        raise InputError(f"--eval {folder}: no class folder ({', '.join(split.classes[:5])}"
                         f"{', ...' if len(split.classes) > 5 else ''}) is a payload class "
                         f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    if unknown:
        print(f"note: {len(unknown)} class folder(s) of {folder} are not payload classes and count as errors: "
              f"{', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}")
    return truth


def cmd_train(args) -> int:
    import numpy as np

    from .. import decode
    from ..errors import PladaError, PoolMismatch
    from .dataset import open_pool
    from .trainers import NearestCentroidTrainer, TorchTrainer, _Images, get_trainer

    # everything cheap first: a bad option, output path or evaluation folder must not cost a training run
    trainer = get_trainer(args.trainer)  # UsageError naming the known trainers
    torch_trainer = isinstance(trainer, TorchTrainer)
    if not torch_trainer:
        given = [option for attr, option in TORCH_OPTIONS if getattr(args, attr) is not None]
        if args.save_model and isinstance(trainer, NearestCentroidTrainer):
            given.append("--save-model")
        if given:
            raise UsageError(f"{', '.join(given)}: only the torch trainer takes "
                             f"{'this option' if len(given) == 1 else 'these options'}, not {args.trainer!r}")
    model_name = None
    if torch_trainer:
        from ..models import list_models
        from ..training import resolve_device
        from .student import DEFAULT_STUDENT

        model_name = args.model or DEFAULT_STUDENT
        known = list_models()
        if model_name not in known:
            raise UsageError(f"unknown model {model_name!r}; known: {', '.join(known)}")
        resolve_device(args.device)  # UsageError for an unavailable device
    _check_outputs(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    blob = _read_payload(args.payload)
    evaluation = _load_eval(args.eval_dir) if args.eval_dir else None

    truth = None
    if evaluation:
        try:  # the class names, to match the evaluation folder before the pool is listed (decoding is fast)
            truth = _eval_truth(evaluation[0], evaluation[1], decode(blob))
        except PoolMismatch:
            pass  # a payload that needs its pool's folder structure to decode: matched below
    pool = open_pool(args.pool)
    p = decode(blob, pool=pool)  # checks that the payload was built for this pool
    print(f"payload: {len(p):,} kept images of {p.pool_size:,}, {p.num_classes} classes; pool "
          f"{pool.identity.describe()}")
    if evaluation and truth is None:
        truth = _eval_truth(evaluation[0], evaluation[1], p)
    if len(p) == 0:
        raise InputError(f"payload {args.payload} keeps no image: nothing to train on")
    options = {"seed": args.seed}
    epochs = None
    if torch_trainer:
        from .student import epochs_for

        epochs = epochs_for(len(p), args.epochs, args.samples)
        if args.samples is not None:
            print(f"--samples {args.samples:,}: {epochs} epochs of {len(p):,} images")
        options.update(model=model_name, epochs=args.epochs, samples=args.samples, device=args.device,
                       num_workers=args.workers or 0, progress=not args.quiet)
    t0 = time.perf_counter()
    predictor = trainer.fit(_Images(pool, p.indices), np.asarray(p.labels), p.num_classes, **options)
    seconds = time.perf_counter() - t0
    if torch_trainer:
        epochs = len(getattr(predictor, "history", {}).get("epochs", ())) or epochs
        options.update(epochs=epochs, device=args.device or "auto")
    record = {"payload": os.path.abspath(args.payload),
              "pool": {"root": os.path.abspath(pool.root), "size": len(pool), "sha256": pool.identity.hexdigest},
              "kept": len(p), "num_classes": p.num_classes, "trainer": args.trainer,
              "options": {("workers" if k == "num_workers" else k): v for k, v in options.items() if k != "progress"},
              "train_seconds": round(seconds, 1)}
    model = getattr(predictor, "model", None) if args.save_model else None
    if model is not None:
        import torch

        with atomic_output(args.save_model) as f:
            torch.save(model.state_dict(), f)
        print(f"model written to {args.save_model}")
    if evaluation:
        folder, split = evaluation
        pred = np.asarray(predictor.predict(split.images), dtype=np.int64)
        acc = float((pred == truth).mean())
        record.update(eval={"folder": os.path.abspath(folder), "images": int(len(truth)), "accuracy": acc,
                            "chance": 1.0 / p.num_classes})
        print(f"accuracy on {folder}: {acc:.4f} ({len(truth)} images, chance {1.0 / p.num_classes:.4f})")
    if args.out:
        with atomic_output(args.out, encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        print(f"record written to {args.out}")
    what = f"{model_name} (torch trainer)" if torch_trainer else args.trainer
    print(f"trained {what} on {len(p):,} images{f' for {epochs} epochs' if epochs else ''} in {seconds:.1f} s")
    if args.save_model and model is None:  # a plugin trainer: known only now; its results above are kept
        raise PladaError(f"--save-model: trainer {args.trainer!r} returned no torch model to save")
    return 0


def _fractions(text: str, option: str):
    """A comma-separated list of keep fractions in (0, 1]; anything else is a usage error naming it."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"{option} {text}: {part.strip()!r} is not a number") from None
        if not 0 < value <= 1:
            raise UsageError(f"{option} {text}: {value} is not a fraction in (0, 1]")
        values.append(value)
    return tuple(values)


def cmd_demo(args) -> int:
    from dataclasses import replace

    from ..demo import FULL, QUICK, run_demo

    cfg = QUICK if args.quick else FULL
    # every option checked here: a bad one must not cost the benchmark's set-up or a teacher's training
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file; give a folder")
    if args.budgets:
        cfg = replace(cfg, budgets=_fractions(args.budgets, "--budgets"))
    if args.student:
        from ..models import list_models

        if args.student not in list_models():
            raise UsageError(f"--student {args.student}: unknown model; known: {', '.join(list_models())}")
        cfg = replace(cfg, student=args.student)
    if args.student_samples is not None:
        cfg = replace(cfg, student_samples=args.student_samples)
    if args.methods:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        unknown = sorted(set(methods) - {"vanilla", "safety-net", "opposite"})
        if unknown or not methods:
            raise UsageError(f"--methods {args.methods}: unknown method(s) {', '.join(unknown) or '(none given)'}; "
                             "known: vanilla, safety-net, opposite")
        cfg = replace(cfg, methods=methods)
    if args.teacher_epochs is not None:
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
