"""CLI commands of the server side: ``teacher``, ``score``, ``merge``, ``select`` (docs/SELECTION.md).

Importing this module imports neither torch nor numba; each command imports what it needs when it runs.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

from ..cli import json_object_option, non_negative_int, positive_int
from ..errors import InputError, UsageError
from ..files import atomic_output, check_output
from ..plugins import names_for_help

WORKFLOW = (
    "workflow: teacher (train on the target's labelled training folder) -> score (every pool image, "
    "resumable shards; runs under torchrun) -> merge (check the shards tile the pool) -> select (rule + "
    "budget -> .pld payload)"
)
#: select options that only --rule auto uses, with their values when it runs (given without it: a usage error)
AUTO_ONLY = {"teacher": None, "target_train": None, "proxy_epochs": 3, "proxy_max_images": 5000,
             "device": "auto", "threads": 0, "workers": 0, "seed": 0}
#: --share / --alpha when not given (selection.DEFAULT_SAFETY_NET; not imported: this module stays light)
SAFETY_NET_DEFAULTS = {"share": 0.5, "alpha": -0.2}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except the uninformative None/False ones (by identity: a default of 0 is shown)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def register(sub) -> None:
    p = sub.add_parser(
        "teacher", help="train a teacher on a labelled target training folder",
        description="Train a classifier (the teacher) on TRAIN_DIR/<class>/<image>, holding out a stratified "
                    "validation split that --rule auto later uses. " + WORKFLOW,
        formatter_class=_HelpFormatter)
    p.add_argument("train_dir", help="labelled target training folder: one sub-folder per class")
    p.add_argument("-o", "--output", required=True, help="teacher file to write (.pt)")
    p.add_argument("--arch", default="small-cnn",
                   help="model: " + names_for_help("plada_codec.teachers")
                        + " (the model registry: built-in and plada_codec.teachers plugins)")
    p.add_argument("--image-size", type=positive_int, default=32, help="images are resized to this square size")
    p.add_argument("--epochs", type=positive_int, default=10, help="training epochs")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (cosine schedule)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="training batch size")
    p.add_argument("--val-fraction", type=float, default=0.1, help="stratified held-out share")
    p.add_argument("--no-augment", action="store_true", help="no random shifts/flips during training")
    _common_torch_args(p, seed="seed of the held-out split, initialisation and data order")
    p.set_defaults(func=cmd_teacher)

    p = sub.add_parser(
        "score", help="score every pool image with a teacher (energy, entropy, max prob, label)",
        description="Run the teacher over the pool and write score chunks <out>/scores-<start>-<stop>.npz "
                    "atomically. Chunks already present are skipped (resume by re-running). --shard i/n scores "
                    "one contiguous part; under torchrun the part is RANK/WORLD_SIZE. " + WORKFLOW,
        formatter_class=_HelpFormatter)
    p.add_argument("--teacher", required=True, help="teacher file written by the teacher command")
    _pool_args(p, required=True, help="pool folder to score (ImageFolder-style tree)")
    p.add_argument("--out", required=True, help="folder for the score chunks")
    p.add_argument("--shard", help="i/n: score part i of n (default: RANK/WORLD_SIZE, else everything)")
    p.add_argument("--chunk-size", type=positive_int, default=65536, help="images per chunk file (the resume unit)")
    p.add_argument("--temperature", type=float, default=1.0, help="energy temperature T: E = -T logsumexp(z/T)")
    p.add_argument("--batch-size", type=positive_int, default=256, help="inference batch size")
    p.add_argument("--merge-to", help="after scoring (all ranks under torchrun), merge the chunks into this .npz")
    _common_torch_args(p, seed="not used: scoring draws no random numbers",
                       device="cpu, cuda, cuda:1, ... (auto: CUDA when available; under torchrun the rank's "
                              "cuda:LOCAL_RANK)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "merge", help="merge score chunks into one file, checking they tile the pool exactly once",
        description="Merge score chunks (folders or files) into one .npz. Fails on a gap, an overlap, chunks of "
                    "another pool, teacher or temperature. " + WORKFLOW,
        formatter_class=_HelpFormatter)
    p.add_argument("inputs", nargs="+", help="score chunk folders or files")
    p.add_argument("-o", "--output", required=True, help="merged .npz to write")
    _pool_args(p, required=False, help="check the chunks against this pool folder (ImageFolder-style tree)")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser(
        "select", help="select pool images by a rule and a budget and write a .pld payload",
        description="Rank the scored pool with a rule (low-energy, high-energy, entropy, a plugin, or auto), keep "
                    "a budget (--fraction, --count or --max-bytes: the largest selection whose payload fits), "
                    "optionally with the Safety-Net, and write the payload. " + WORKFLOW,
        formatter_class=_HelpFormatter)
    p.add_argument("scores", help="merged scores (.npz from merge) or a folder of chunks")
    p.add_argument("-o", "--output", required=True, help="payload file to write (.pld)")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--fraction", type=float, help="keep this fraction of the pool, e.g. 0.01")
    budget.add_argument("--count", type=positive_int, help="keep this many images")
    budget.add_argument("--max-bytes", type=positive_int,
                        help="keep the largest selection whose payload fits in this many bytes")
    p.add_argument("--rule", default="low-energy",
                   help="low-energy (paper's vanilla), high-energy (opposite, far-OOD), entropy, a plugin rule, "
                        "or auto (choose on the teacher's held-out target training split)")
    p.add_argument("--safety-net", action="store_true",
                   help="reserve --share of the budget for per-class quotas (not with --rule auto, which tries "
                        "low-energy with and without the Safety-Net itself)")
    p.add_argument("--share", type=float,
                   help=f"Safety-Net share s of the budget, in [0, 1] (with --safety-net or --rule auto; default "
                        f"{SAFETY_NET_DEFAULTS['share']})")
    p.add_argument("--alpha", type=float,
                   help=f"Safety-Net quota exponent: K_c ~ N_c^alpha (with --safety-net or --rule auto; default "
                        f"{SAFETY_NET_DEFAULTS['alpha']})")
    p.add_argument("--codec", default="auto",
                   help="payload codec choice, as for encode: auto (smallest per section), fast (smallest among "
                        "the fast-decoding codecs), packed, static, or INDEX_CODEC,LABEL_CODEC (an empty side is auto); "
                        "folder-aware codecs need --pool")
    p.add_argument("--meta", help="JSON object to add to the payload metadata (its 'selection' key is the "
                                  "command's own)")
    _pool_args(p, required=False,
               help="the scores' pool folder: checks the scores against it and lets the codecs use its folders "
                    "(needed by --rule auto, whose proxy students train on its images)")
    p.add_argument("--teacher", help="--rule auto: the teacher file that made the scores (its held-out split)")
    p.add_argument("--target-train", help="--rule auto: target training folder (default: the teacher's)")
    p.add_argument("--proxy-epochs", type=positive_int,
                   help=f"--rule auto: proxy student epochs (default {AUTO_ONLY['proxy_epochs']})")
    p.add_argument("--proxy-max-images", type=positive_int,
                   help=f"--rule auto: proxy training images at most (default {AUTO_ONLY['proxy_max_images']})")
    _common_torch_args(p, seed="--rule auto: seed of the proxy students", only="--rule auto: ")
    p.set_defaults(func=cmd_select)


def _pool_args(p, required: bool, help: str) -> None:
    p.add_argument("--pool", required=required, help=help)
    p.add_argument("--manifest", help="read the pool's image list from this canonical manifest instead of scanning "
                                      "--pool (which is still needed: the image root)")
    p.add_argument("--pool-name", help="pool name recorded in payloads (default: the folder's name)")


def _common_torch_args(p, seed: str, device: str = "cpu, cuda, cuda:1, ... (auto: CUDA when available)",
                       only: str = "") -> None:
    """--device, --threads, --workers, --seed, --quiet; ``only`` prefixes the help of an option that only some
    modes of the command use (select: --rule auto); those then default to None, so that giving one without
    that mode can be refused, and their help states the value in use."""
    def add(flag, value, text, **kwargs):
        p.add_argument(flag, default=None if only else value, help=text + (f" (default {value})" if only else ""),
                       **kwargs)

    add("--device", "auto", only + device)
    add("--threads", 0, only + "torch CPU threads (0: torch's default)", type=non_negative_int)
    add("--workers", 0, only + "DataLoader worker processes (0: load images in the main process)",
        type=non_negative_int)
    add("--seed", 0, seed, type=int)
    p.add_argument("--quiet", action="store_true", help=only + "no progress bars")


def _check_pool_options(args) -> None:
    given = [flag for flag, value in (("--manifest", args.manifest), ("--pool-name", args.pool_name)) if value]
    if given and args.pool is None:
        verb = "apply" if len(given) > 1 else "applies"
        raise UsageError(f"{' and '.join(given)} only {verb} to --pool; give --pool too")


def _check_known(group: str, name: str, option: str) -> None:
    """An unknown model or rule name is a usage error before any work."""
    from .. import plugins

    known = plugins.names(group)
    if name not in known:
        raise UsageError(f"{option} {name}: unknown {plugins.KINDS[group]}; known: {', '.join(known)}")


def _setup_torch(args):
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    return torch


def _open_pool(args):
    from ..pool import Pool

    if args.pool is None:
        return None
    if args.manifest:
        return Pool.from_manifest(args.manifest, args.pool, name=args.pool_name)
    return Pool.from_folder(args.pool, name=args.pool_name)


def _print(msg: str) -> None:
    print(msg, flush=True)


def cmd_teacher(args) -> int:
    check_output(args.output)
    if not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    if not 0 < args.lr < math.inf:
        raise UsageError(f"--lr {args.lr}: must be > 0 and finite")
    _check_known("plada_codec.teachers", args.arch, "--arch")
    _setup_torch(args)
    from ..training import resolve_device
    from .teacher import train_teacher

    resolve_device(args.device)  # an unavailable device is refused before training
    log = None if args.quiet else (lambda r: print(
        f"epoch {r['epoch']}: loss {r['loss']:.3f} train {r['train_acc']:.3f} "
        + ("" if r["val_acc"] is None else f"val {r['val_acc']:.3f} ")  # --val-fraction 0: nothing held out
        + f"({r['images_per_s']:.0f} img/s)", file=sys.stderr))
    teacher = train_teacher(args.train_dir, arch=args.arch, image_size=args.image_size, epochs=args.epochs,
                            lr=args.lr, batch_size=args.batch_size, val_fraction=args.val_fraction, seed=args.seed,
                            augment=not args.no_augment, device=args.device, num_workers=args.workers,
                            progress=not args.quiet, log=log)
    teacher.save(args.output)
    epochs = teacher.history["epochs"]
    val = epochs[-1]["val_acc"]
    _print(f"teacher {teacher.teacher_id} ({teacher.arch}, {teacher.num_classes} classes, "
           f"{len(teacher.val_indices)} held out): val acc {'n/a' if val is None else format(val, '.4f')} "
           f"-> {args.output}")
    return 0


def _distributed():
    """Initialise torch.distributed when launched by torchrun with several processes (for the barrier)."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ and not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":  # NCCL collectives run on the rank's own GPU
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
        return dist
    return None


def _merge_summary(table, output: str) -> str:
    """The line merge and score --merge-to print."""
    import numpy as np

    counts = np.bincount(table.label, minlength=table.num_classes)
    return (f"merged {table.size:,} scores of pool {table.pool.describe()}, teacher {table.teacher_id}, "
            f"{table.num_classes} classes (pool images per predicted class: min {counts.min():,}, "
            f"max {counts.max():,}) -> {output}")


def cmd_score(args) -> int:
    # every check before the --out folder is created: a refused run leaves nothing behind
    if args.merge_to:
        check_output(args.merge_to, "--merge-to")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file; give a folder")
    if not 0 < args.temperature < math.inf:
        raise UsageError(f"--temperature {args.temperature}: must be > 0 and finite")
    torch = _setup_torch(args)
    from ..torch_data import SmallImageTransform
    from ..training import resolve_device
    from .scoring import merge, parse_shard, score, shard_from_env
    from .teacher import load_teacher

    shard = parse_shard(args.shard) if args.shard else shard_from_env()
    device = args.device
    if device == "auto" and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
    resolve_device(device)
    teacher = load_teacher(args.teacher)
    pool = _open_pool(args)
    dist = _distributed() if not args.shard else None
    try:
        info = score(teacher.model, pool, args.out, temperature=args.temperature, shard=shard,
                     chunk_size=args.chunk_size, batch_size=args.batch_size, num_workers=args.workers,
                     device=device, transform=SmallImageTransform(teacher.image_size, teacher.channels),
                     class_names=teacher.class_names, progress=not args.quiet)
        rate = f"{info['images_per_s']:.0f} img/s" if info["images_per_s"] else "nothing to do"
        _print(f"shard {shard[0]}/{shard[1]}: scored {info['scored']:,} images, {info['skipped']:,} already done "
               f"({rate}); teacher {info['teacher_id']}; chunks in {args.out}")
        if dist is not None:
            dist.barrier()
        if args.merge_to and shard[0] == 0:
            if shard[1] > 1 and dist is None:
                _print("note: --merge-to with --shard merges whatever chunks are present now")
            table = merge(args.out, pool)
            table.save(args.merge_to)
            _print(_merge_summary(table, args.merge_to))
    finally:
        if dist is not None:
            dist.destroy_process_group()
    return 0


def cmd_merge(args) -> int:
    from .scoring import merge

    check_output(args.output)
    _check_pool_options(args)
    pool = _open_pool(args)
    table = merge(args.inputs, pool)
    table.save(args.output)
    _print(_merge_summary(table, args.output))
    return 0


def _parse_meta(text):
    """--meta as a dict; not JSON, not an object or a key the selection writes itself: a usage error."""
    from .selection import check_user_meta

    meta = json_object_option(text)
    if meta is not None:
        check_user_meta(meta)
    return meta


def cmd_select(args) -> int:
    from ..core_commands import _codec_choice
    from .selection import SafetyNet

    # the command line first: every usage error before the scores are read or a proxy trains
    check_output(args.output)
    _check_pool_options(args)
    auto = args.rule == "auto"
    if args.fraction is not None and not 0 < args.fraction <= 1:
        raise UsageError(f"--fraction {args.fraction}: must be in (0, 1]")
    auto_only = ["--" + dest.replace("_", "-") for dest in AUTO_ONLY if getattr(args, dest) is not None]
    if auto_only and not auto:
        raise UsageError(f"{', '.join(auto_only)}: only --rule auto uses {'them' if len(auto_only) > 1 else 'it'}")
    net_options = [f"--{name}" for name in SAFETY_NET_DEFAULTS if getattr(args, name) is not None]
    if auto and args.safety_net:
        raise UsageError("--rule auto tries low-energy with and without the Safety-Net itself: drop --safety-net "
                         "(--share and --alpha set the Safety-Net it tries)")
    if net_options and not (args.safety_net or auto):
        verb = "need" if len(net_options) > 1 else "needs"
        raise UsageError(f"{' and '.join(net_options)} {verb} --safety-net (or --rule auto)")
    net = SafetyNet(**{name: default if getattr(args, name) is None else getattr(args, name)
                       for name, default in SAFETY_NET_DEFAULTS.items()})
    meta = _parse_meta(args.meta)
    if not auto:
        _check_known("plada_codec.rules", args.rule, "--rule")
    codec = _codec_choice(args.codec, have_pool=args.pool is not None)
    if auto:
        if args.pool is None or args.teacher is None:
            raise UsageError("--rule auto needs --pool (to train proxy students) and --teacher (its held-out split)")
        for dest, value in AUTO_ONLY.items():
            if getattr(args, dest) is None:
                setattr(args, dest, value)
        _setup_torch(args)
        from ..training import resolve_device

        resolve_device(args.device)

    from .scoring import load_scores
    from .selection import select

    pool = _open_pool(args)
    scores = load_scores(args.scores, pool)
    if args.count is not None and args.count > scores.size:
        raise UsageError(f"--count {args.count:,}: the pool has {scores.size:,} images")
    budget = {"fraction": args.fraction, "count": args.count, "max_bytes": args.max_bytes}
    if auto:
        from torch.utils.data import Subset

        from .auto import DEFAULT_CANDIDATES, select_auto
        from .teacher import load_teacher, open_training_folder

        teacher = load_teacher(args.teacher)
        if teacher.teacher_id != scores.teacher_id:
            raise UsageError(f"--teacher {args.teacher} is teacher {teacher.teacher_id}, but the scores were made "
                             f"by teacher {scores.teacher_id}: give the teacher that scored them")
        root = args.target_train or teacher.train_root
        if root is None:
            raise UsageError("the teacher file records no training folder; give --target-train")
        dataset, _, target_pool = open_training_folder(root, teacher.image_size, "target training folder")
        if teacher.train_sha256 and target_pool.identity.hexdigest != teacher.train_sha256:
            raise InputError(f"target training folder {root} ({target_pool.identity.describe()}) is not the one "
                             f"the teacher was trained on (sha256={teacher.train_sha256[:16]}...)")
        heldout = Subset(dataset, teacher.val_indices.tolist())
        candidates = tuple((rule, None if default is None else net) for rule, default in DEFAULT_CANDIDATES)
        log = None if args.quiet else (lambda r: print(f"auto: {r}", file=sys.stderr))
        sel = select_auto(scores, pool, heldout, **budget, meta=meta, codec=codec, candidates=candidates,
                          proxy_epochs=args.proxy_epochs, proxy_max_images=args.proxy_max_images,
                          image_size=teacher.image_size, seed=args.seed, device=args.device, num_workers=args.workers,
                          progress=not args.quiet,
                          heldout_source=f"teacher's held-out split of {os.path.basename(os.path.abspath(root))} "
                                         f"(sha256={target_pool.identity.hexdigest[:16]}...)", log=log)
    else:
        sel = select(scores, args.rule, **budget, safety_net=net if args.safety_net else None, pool=pool,
                     codec=codec, meta=meta)
    with atomic_output(args.output) as f:
        f.write(sel.payload)
    extra = ""
    if sel.search:
        nxt = sel.search["bytes_k_plus_1"]
        extra = f"; k+1 would need {nxt:,} bytes ({sel.search['encodes']} encodes)" if nxt else ""
    if "auto" in sel.meta["selection"]:
        chosen = sel.meta["selection"]["auto"]["chosen"]
        extra += f"; auto chose {chosen['rule']}{' + Safety-Net' if chosen['safety_net'] else ''}"
    _print(f"wrote {args.output}: {sel.summary()}{extra}")
    return 0
