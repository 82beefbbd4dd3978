"""Core CLI commands: inspect, verify, encode, decode (numpy only)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any, Dict

import numpy as np

from .cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from .errors import EncodeError, PladaError, PoolError

MAX_INPUT_BYTES = 2**31


def register(sub) -> None:
    p = sub.add_parser(
        "inspect", help="describe a payload: version, pool, N, k, C, per-section bytes, bits, bound",
        description="Describe a .pld payload. Checks framing and the SHA-256 trailer, then decodes the streams "
                    "to compute the order-0 information bound log2 C(N,k) + log2 multinomial(label counts) "
                    "(skip that with --no-decode).")
    p.add_argument("payload", help="path of a .pld file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--no-decode", action="store_true", help="do not decode the streams (no bound)")
    _add_pool_arguments(p, "the pool, needed to decode payloads whose codecs use the pool's folders")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser(
        "verify", help="check integrity, exact decodability and (with --pool) the pool identity",
        description="Decode the payload completely with every check, and when --pool is given, check that it "
                    "was built for that pool (a folder, or a manifest file). Exit 0 when valid.")
    p.add_argument("payload")
    _add_pool_arguments(p, "pool folder (ImageFolder tree) or its manifest file (.txt, one path per line)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "encode", help="encode (indices, labels) from .npz or CSV into a .pld payload",
        description="Encode kept pool indices and labels. Input: .npz with arrays 'indices' and 'labels' "
                    "(and optionally 'pool_size', 'num_classes', 'class_names'), or CSV with columns "
                    "index,label (a header line is allowed).")
    p.add_argument("input", help=".npz or .csv file")
    p.add_argument("-o", "--output", required=True, help="output .pld path")
    p.add_argument("--pool-size", type=int, help="N (required unless the .npz holds pool_size)")
    p.add_argument("--num-classes", type=int, help="C (required unless the .npz holds num_classes)")
    p.add_argument("--class-names", metavar="FILE", help="text file, one class name per line")
    p.add_argument("--meta", metavar="JSON", help="selection metadata as a JSON object string")
    p.add_argument("--codec", default="auto",
                   help="auto (default: smallest per section), fast (smallest among the fast-decoding "
                        "codecs), packed, static, a joint codec name, or INDEX_CODEC,LABEL_CODEC")
    _add_pool_arguments(p, "record this pool's identity in the payload (and use its folders)")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a payload to .npz or CSV",
                       description="Decode a payload (all checks) and write indices and labels.")
    p.add_argument("payload")
    p.add_argument("-o", "--output", required=True, help="output path ending in .npz or .csv")
    _add_pool_arguments(p, "check (and provide) the pool")
    p.set_defaults(func=cmd_decode)


def _add_pool_arguments(p, help_text: str) -> None:
    p.add_argument("--pool", metavar="DIR_OR_MANIFEST", help=help_text)
    p.add_argument("--pool-root", metavar="DIR", help="image root for --pool MANIFEST (default: its folder)")


def _read_payload(path: str) -> bytes:
    from .limits import DEFAULT_LIMITS
    from .errors import LimitExceeded

    size = os.path.getsize(path)
    if size > DEFAULT_LIMITS.max_payload_bytes:
        raise LimitExceeded(f"{path} is {size} bytes, above max_payload_bytes")
    with open(path, "rb") as f:
        return f.read()


def _open_pool(spec, root):
    if not spec:
        return None
    from .pool import Pool

    if os.path.isdir(spec):
        return Pool.from_folder(spec)
    if os.path.isfile(spec):
        return Pool.from_manifest(spec, root or os.path.dirname(os.path.abspath(spec)))
    raise PoolError(f"--pool {spec}: no such folder or manifest file")


def describe(blob: bytes, decode_streams: bool = True, pool=None) -> Dict[str, Any]:
    """inspect() plus, when decoding, label counts and the order-0 bound.  A payload whose codecs use the
    pool's folders can only be decoded with that pool; without it the streams are left undecoded."""
    from . import decode, inspect
    from .bounds import order0_bound_bits
    from .registry import get_by_id, SectionType

    info = inspect(blob)
    needs_pool = False
    for s in info["sections"]:
        try:
            needs_pool |= get_by_id(s["codec_id"], SectionType(s["type_id"])).needs_groups
        except (ValueError, PladaError):
            pass
    info["needs_pool"] = needs_pool
    if decode_streams and needs_pool and pool is None:
        from .payload import read_metadata

        info["not_decoded"] = "its codecs use the pool's folders: pass --pool to decode and get the bound"
        info["class_names"], info["meta"] = read_metadata(blob)
    elif decode_streams:
        p = decode(blob, pool=pool)
        counts = p.label_counts()
        bound = order0_bound_bits(p.pool_size, counts)
        info["order0_bound_bits"] = bound
        info["ratio_to_bound"] = (8 * info["total_bytes"] / bound) if bound > 0 else None
        info["classes_present"] = int(np.count_nonzero(counts))
        info["meta"] = p.meta
        info["class_names"] = p.class_names
        if p.skipped_sections:
            info["skipped_sections"] = [
                {"type_id": t, "codec_id": c, "encoded_bytes": n} for (t, c, n) in p.skipped_sections]
    return info


def _fmt_bits(x):
    return "n/a" if x is None else f"{x:.3f}"


def cmd_inspect(args) -> int:
    blob = _read_payload(args.payload)
    info = describe(blob, decode_streams=not args.no_decode, pool=_open_pool(args.pool, args.pool_root))
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return EXIT_OK
    pool = info["pool"]
    print(f"{args.payload}: .pld v{info['version']}, {info['total_bytes']} bytes")
    print(f"  pool        : {pool['name'] or '<unnamed>'} N={pool['size']} sha256={pool['sha256']}" if pool
          else "  pool        : (no identity recorded)")
    print(f"  N={info['pool_size']}  k={info['kept']}  C={info['num_classes']}")
    print(f"  {'section':<12} {'codec':<22} {'raw':>10} {'bytes':>10}")
    for s in info["sections"]:
        print(f"  {s['type']:<12} {s['codec']:<22} {s['raw_length']:>10} {s['encoded_bytes']:>10}"
              + ("" if s["critical"] else "  (optional)"))
    print(f"  {'overhead':<12} {'header+table+digest':<22} {'':>10} {info['overhead_bytes']:>10}")
    print(f"  bits per kept image : {_fmt_bits(info['bits_per_kept'])}")
    print(f"  bits per pool image : {info['bits_per_pool_image']:.5f}")
    if "order0_bound_bits" in info:
        b = info["order0_bound_bits"]
        print(f"  order-0 bound       : {b / 8:.0f} bytes (log2 C(N,k) + log2 multinomial(label counts))")
        r = info["ratio_to_bound"]
        print(f"  ratio to bound      : {r:.4f}" if r is not None else "  ratio to bound      : n/a (bound is 0)")
    if info.get("not_decoded"):
        print(f"  streams not decoded : {info['not_decoded']}")
    if info.get("meta"):
        print(f"  meta                : {json.dumps(info['meta'], sort_keys=True)[:300]}")
    if info.get("skipped_sections"):
        print(f"  skipped sections    : {info['skipped_sections']}")
    return EXIT_OK


def cmd_verify(args) -> int:
    from . import decode

    blob = _read_payload(args.payload)
    pool = _open_pool(args.pool, args.pool_root)
    p = decode(blob, pool=pool)
    where = ""
    if pool is not None:
        where = " for pool " + (p.pool.describe() if p.pool else "(payload names no pool: identity not checked)")
    print(f"OK: {args.payload}: k={len(p)} of N={p.pool_size}, C={p.num_classes}{where}")
    return EXIT_OK


def _load_input(path: str):
    if os.path.getsize(path) > MAX_INPUT_BYTES:
        raise EncodeError(f"{path} is larger than {MAX_INPUT_BYTES} bytes")
    extras: Dict[str, Any] = {}
    if path.endswith(".npz"):
        try:
            z = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise EncodeError(f"{path}: not a readable .npz ({exc})") from None
        with z:
            if "indices" not in z or "labels" not in z:
                raise EncodeError(f"{path}: needs arrays 'indices' and 'labels' (has {sorted(z.files)})")
            idx, lab = z["indices"], z["labels"]
            for key in ("pool_size", "num_classes"):
                if key in z:
                    extras[key] = int(z[key])
            if "class_names" in z:
                extras["class_names"] = [str(x) for x in z["class_names"]]
        return idx, lab, extras
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if lineno == 1 and len(row) >= 2 and not row[0].strip().lstrip("-").isdigit():
                continue  # a header line such as "index,label"
            if len(row) < 2:
                raise EncodeError(f"{path}:{lineno}: expected index,label")
            try:
                rows.append((int(row[0]), int(row[1])))
            except ValueError:
                raise EncodeError(f"{path}:{lineno}: not integers: {row[:2]}") from None
    if not rows:
        print(f"warning: {path} holds no index,label rows: the payload keeps no image", file=sys.stderr)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1], extras


def cmd_encode(args) -> int:
    from . import encode

    idx, lab, extras = _load_input(args.input)
    n = args.pool_size if args.pool_size is not None else extras.get("pool_size")
    c = args.num_classes if args.num_classes is not None else extras.get("num_classes")
    if n is None or c is None:
        print("error: --pool-size and --num-classes are required for this input", file=sys.stderr)
        return EXIT_USAGE
    names = extras.get("class_names")
    if args.class_names:
        with open(args.class_names, encoding="utf-8") as f:
            names = [line.rstrip("\n") for line in f if line.strip()]
    meta = None
    if args.meta:
        try:
            meta = json.loads(args.meta)
        except ValueError as exc:
            print(f"error: --meta is not JSON: {exc}", file=sys.stderr)
            return EXIT_USAGE
    codec: Any = args.codec
    if "," in codec:
        i_name, l_name = codec.split(",", 1)
        codec = {"indices": i_name or None, "labels": l_name or None}
    pool = _open_pool(args.pool, args.pool_root)
    blob = encode(idx, lab, pool_size=n, num_classes=c, class_names=names, pool=pool, meta=meta, codec=codec)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, args.output)
    k = len(idx)
    print(f"wrote {args.output}: k={k} N={n} C={c}, {len(blob)} bytes"
          + (f", {8 * len(blob) / k:.3f} bits per kept image" if k else ""))
    return EXIT_OK


def cmd_decode(args) -> int:
    from . import decode

    blob = _read_payload(args.payload)
    pool = _open_pool(args.pool, args.pool_root)
    p = decode(blob, pool=pool)
    out = args.output
    if out.endswith(".npz"):
        arrays = {"indices": p.indices, "labels": p.labels, "pool_size": np.int64(p.pool_size),
                  "num_classes": np.int64(p.num_classes)}
        if p.class_names:
            arrays["class_names"] = np.array(p.class_names)
        tmp = out + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, out)
    elif out.endswith(".csv"):
        tmp = out + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["index", "label"])
            w.writerows(zip(p.indices.tolist(), p.labels.tolist()))
        os.replace(tmp, out)
    else:
        print("error: --output must end in .npz or .csv", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {out}: k={len(p)} N={p.pool_size} C={p.num_classes}")
    return EXIT_OK
