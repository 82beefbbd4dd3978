"""Server-side throughput: teacher scoring (images/s) and selection time, on this machine's CPU.

    python benches/server_throughput.py                      # synthetic in-memory pool, 64,000 x 32 px
    python benches/server_throughput.py --pool DIR --shard 0/6   # a folder pool (PNG decoding included)

Checks before timing: the merged scores cover the scored range and the selected payload decodes to
the selection.  Figures go to docs/SELECTION.md with the exact command.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", help="pool folder (default: a synthetic in-memory pool)")
    ap.add_argument("--images", type=int, default=64000, help="synthetic pool size")
    ap.add_argument("--shard", default="0/1", help="score only this part (i/n) of the pool")
    ap.add_argument("--arch", default="small-cnn")
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--chunk-size", type=int, default=4096)
    args = ap.parse_args()

    import torch

    import plada_codec
    from plada_codec.models import get_model
    from plada_codec.pool import Pool
    from plada_codec.server.scoring import merge, parse_shard, score
    from plada_codec.server.selection import select
    from plada_codec.torch_data import SmallImageTransform

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.pool:
        pool = Pool.from_folder(args.pool)
    else:
        rng = np.random.default_rng(0)
        imgs = rng.integers(0, 256, (args.images, args.image_size, args.image_size, 3), dtype=np.uint8)
        pool = Pool.from_arrays(imgs, [f"g{i // 1000:03d}/{i % 1000:03d}.png" for i in range(args.images)], "synthetic")
    print(f"pool {pool.identity.describe()} opened in {time.perf_counter() - t0:.2f} s")
    torch.manual_seed(0)
    teacher = get_model(args.arch, 10, args.image_size).eval()
    shard = parse_shard(args.shard)
    with tempfile.TemporaryDirectory() as out:
        info = score(teacher, pool, out, shard=shard, chunk_size=args.chunk_size, batch_size=args.batch_size, num_workers=args.workers,
                     device="cpu", transform=SmallImageTransform(args.image_size), progress=True)
        print(f"scored {info['scored']:,} images in {info['seconds']:.1f} s: {info['images_per_s']:.0f} images/s "
              f"({args.arch}, {args.image_size} px, {args.threads} threads, {args.workers} workers, "
              f"batch {args.batch_size}, load average {os.getloadavg()[0]:.1f})")
        if shard == (0, 1):
            table = merge(out, pool)
            assert (table.start, table.stop) == (0, len(pool))
            for kw in ({"fraction": 0.01}, {"max_bytes": 4000}):
                t1 = time.perf_counter()
                sel = select(table, "low-energy", pool=pool, **kw)
                dt = time.perf_counter() - t1
                p = plada_codec.decode(sel.payload, pool=pool)
                assert p.indices.tolist() == sel.indices.tolist()
                print(f"select {kw}: {sel.summary()} in {dt:.2f} s")


if __name__ == "__main__":
    main()
