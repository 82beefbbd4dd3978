"""CLI commands of the server side: ``teacher``, ``score``, ``merge``, ``select`` (docs/SELECTION.md).

Importing this module imports neither torch nor numba; each command imports what it needs when it runs.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..plugins import names_for_help

WORKFLOW = (
    "workflow: teacher (train on the target's labelled training folder) -> score (every pool image, "
    "resumable shards; runs under torchrun) -> merge (check the shards tile the pool) -> select (rule + "
    "budget -> .pld payload)"
)


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
    p.add_argument("--image-size", type=int, default=32, help="images are resized to this square size")
    p.add_argument("--epochs", type=int, default=10, help="training epochs")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (cosine schedule)")
    p.add_argument("--batch-size", type=int, default=128, help="training batch size")
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
    p.add_argument("--chunk-size", type=int, default=65536, help="images per chunk file (the resume unit)")
    p.add_argument("--temperature", type=float, default=1.0, help="energy temperature T: E = -T logsumexp(z/T)")
    p.add_argument("--batch-size", type=int, default=256, help="inference batch size")
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
    budget.add_argument("--count", type=int, help="keep this many images")
    budget.add_argument("--max-bytes", type=int,
                        help="keep the largest selection whose payload fits in this many bytes")
    p.add_argument("--rule", default="low-energy",
                   help="low-energy (paper's vanilla), high-energy (opposite, far-OOD), entropy, a plugin rule, "
                        "or auto (choose on the teacher's held-out target training split)")
    p.add_argument("--safety-net", action="store_true",
                   help="reserve --share of the budget for per-class quotas (--rule auto ignores it and tries "
                        "low-energy with and without the Safety-Net itself, at the default share and alpha)")
    p.add_argument("--share", type=float, default=0.5, help="Safety-Net share s of the budget (with --safety-net)")
    p.add_argument("--alpha", type=float, default=-0.2,
                   help="Safety-Net quota exponent: K_c ~ N_c^alpha (with --safety-net)")
    p.add_argument("--codec", default="auto",
                   help="payload codec choice: auto (smallest), fast (smallest among the fast-decoding codecs), "
                        "packed, static or a codec name")
    p.add_argument("--meta", help="JSON object to add to the payload metadata")
    _pool_args(p, required=False,
               help="the scores' pool folder: checks the scores against it and lets the codecs use its folders "
                    "(needed by --rule auto, whose proxy students train on its images)")
    p.add_argument("--teacher", help="teacher file (needed by --rule auto: its held-out split)")
    p.add_argument("--target-train", help="target training folder for --rule auto (default: the teacher's)")
    p.add_argument("--proxy-epochs", type=int, default=3, help="--rule auto: proxy student epochs")
    p.add_argument("--proxy-max-images", type=int, default=5000, help="--rule auto: proxy training images at most")
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
    modes of the command use (select: --rule auto)."""
    p.add_argument("--device", default="auto", help=only + device)
    p.add_argument("--threads", type=int, default=0, help=only + "torch CPU threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=0,
                   help=only + "DataLoader worker processes (0: load images in the main process)")
    p.add_argument("--seed", type=int, default=0, help=seed)
    p.add_argument("--quiet", action="store_true", help=only + "no progress bars")


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
    _setup_torch(args)
    from .teacher import train_teacher

    log = None if args.quiet else (lambda r: print(
        f"epoch {r['epoch']}: loss {r['loss']:.3f} train {r['train_acc']:.3f} "
        f"val {r['val_acc'] if r['val_acc'] is None else format(r['val_acc'], '.3f')} "
        f"({r['images_per_s']:.0f} img/s)", file=sys.stderr))
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


def cmd_score(args) -> int:
    torch = _setup_torch(args)
    from .scoring import merge, parse_shard, score, shard_from_env
    from .teacher import load_teacher
    from ..torch_data import SmallImageTransform

    shard = parse_shard(args.shard) if args.shard else shard_from_env()
    device = args.device
    if device == "auto" and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
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
            _print(f"merged {table.size:,} scores -> {args.merge_to}")
    finally:
        if dist is not None:
            dist.destroy_process_group()
    return 0


def cmd_merge(args) -> int:
    from .scoring import merge

    pool = _open_pool(args)
    table = merge(args.inputs, pool)
    table.save(args.output)
    import numpy as np

    counts = np.bincount(table.label, minlength=table.num_classes)
    _print(f"merged {table.size:,} scores of pool {table.pool.describe()}, teacher {table.teacher_id}, "
           f"{table.num_classes} classes (pool images per predicted class: min {counts.min():,}, "
           f"max {counts.max():,}) -> {args.output}")
    return 0


def cmd_select(args) -> int:
    import json

    from ..errors import PladaError, PoolMismatch
    from .scoring import load_scores
    from .selection import SafetyNet, select

    pool = _open_pool(args)
    scores = load_scores(args.scores, pool)
    meta = None
    if args.meta:
        try:
            meta = json.loads(args.meta)
        except json.JSONDecodeError as exc:
            raise PladaError(f"--meta is not JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise PladaError("--meta must be a JSON object")
    budget = {"fraction": args.fraction, "count": args.count, "max_bytes": args.max_bytes}
    if args.rule == "auto":
        if pool is None or args.teacher is None:
            raise PladaError("--rule auto needs --pool (to train proxy students) and --teacher (its held-out split)")
        _setup_torch(args)
        from torch.utils.data import Subset

        from ..torch_data import labelled_folder
        from .auto import select_auto
        from .teacher import load_teacher

        teacher = load_teacher(args.teacher)
        root = args.target_train or teacher.train_root
        if root is None:
            raise PladaError("the teacher file records no training folder; give --target-train")
        dataset, names, target_pool = labelled_folder(root, teacher.image_size)
        if teacher.train_sha256 and target_pool.identity.hexdigest != teacher.train_sha256:
            raise PoolMismatch(f"target training folder {root} ({target_pool.identity.describe()}) is not the one "
                               f"the teacher was trained on (sha256={teacher.train_sha256[:16]}...)")
        heldout = Subset(dataset, teacher.val_indices.tolist())
        log = None if args.quiet else (lambda r: print(f"auto: {r}", file=sys.stderr))
        sel = select_auto(scores, pool, heldout, **budget, meta=meta, codec=args.codec, proxy_epochs=args.proxy_epochs,
                          proxy_max_images=args.proxy_max_images, image_size=teacher.image_size, seed=args.seed,
                          device=args.device, num_workers=args.workers, progress=not args.quiet,
                          heldout_source=f"teacher's held-out split of {os.path.basename(os.path.abspath(root))} "
                                         f"(sha256={target_pool.identity.hexdigest[:16]}...)", log=log)
    else:
        net = SafetyNet(args.share, args.alpha) if args.safety_net else None
        sel = select(scores, args.rule, **budget, safety_net=net, pool=pool, codec=args.codec, meta=meta)
    with open(args.output, "wb") as f:
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
