"""Core CLI commands: inspect, verify, encode, decode (numpy only)."""
from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
import zipfile
import zlib
from typing import Any, Dict, List, Tuple

import numpy as np

from .cli import EXIT_OK, json_object_option
from .errors import EncodeError, PladaError, PoolError, PoolMismatch, UsageError
from .files import atomic_output, check_output

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
    p.add_argument("payload", help="path of a .pld file")
    _add_pool_arguments(p, "pool folder (ImageFolder tree) or its manifest file (.txt, one path per line)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "encode", help="encode (indices, labels) from .npz or CSV into a .pld payload",
        description="Encode kept pool indices and labels. Input: .npz with arrays 'indices' and 'labels' "
                    "(and optionally 'pool_size', 'num_classes', 'class_names'), or CSV with exactly two "
                    "integer columns index,label; the first line may be a header whose fields are not numbers "
                    "(such as index,label); blank lines are skipped.")
    p.add_argument("input", help=".npz file, or anything else read as CSV")
    p.add_argument("-o", "--output", required=True, help="output .pld path")
    p.add_argument("--pool-size", type=int, help="N (required unless the .npz holds pool_size or --pool is given)")
    p.add_argument("--num-classes", type=int, help="C (required unless the .npz holds num_classes)")
    p.add_argument("--class-names", metavar="FILE", help="UTF-8 text file, one class name per line, no blank lines")
    p.add_argument("--meta", metavar="JSON", help="selection metadata as a JSON object string")
    p.add_argument("--codec", default="auto",
                   help="auto (default: smallest per section), fast (smallest among the fast-decoding "
                        "codecs), packed, static, or INDEX_CODEC,LABEL_CODEC (an empty side is auto)")
    _add_pool_arguments(p, "record this pool's identity in the payload (and use its folders)")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a payload to .npz or CSV",
                       description="Decode a payload (all checks) and write indices and labels.")
    p.add_argument("payload", help="path of a .pld file")
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


def _check_pool_root(args) -> None:
    if args.pool_root and not args.pool:
        raise UsageError("--pool-root only applies to --pool MANIFEST; give --pool too")


def _decode(blob: bytes, pool):
    """decode(), with the hint for a payload that needs its pool phrased for the command line."""
    from . import decode, inspect

    try:
        return decode(blob, pool=pool)
    except PoolMismatch:
        ident = inspect(blob)["pool"] if pool is None else None
        if ident is None:
            raise
        raise PoolMismatch(f"payload was built for pool {ident['name'] or '<unnamed>'} (N={ident['size']}, "
                           f"sha256={ident['sha256'][:16]}...) with its folder structure: pass that pool "
                           "with --pool to decode it") from None


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
    _check_pool_root(args)
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
        print(f"  order-0 bound       : {b:.1f} bits = {math.ceil(b / 8)} B "
              "(log2 C(N,k) + log2 multinomial(label counts))")
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
    _check_pool_root(args)
    blob = _read_payload(args.payload)
    pool = _open_pool(args.pool, args.pool_root)
    p = _decode(blob, pool)
    where = ""
    if pool is not None:
        where = " for pool " + (p.pool.describe() if p.pool else "(payload names no pool: identity not checked)")
    print(f"OK: {args.payload}: k={len(p)} of N={p.pool_size}, C={p.num_classes}{where}")
    return EXIT_OK


#: a CSV field holding an integer: optional sign, ASCII digits (no "1_000", no "1.0")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_INT64 = (-2**63, 2**63 - 1)
#: what reading a malformed input file can raise (besides PladaError); turned into one EncodeError
_READ_ERRORS = (OSError, ValueError, EOFError, csv.Error, zipfile.BadZipFile, zlib.error)


def _load_input(path: str):
    """(indices, labels, extras) from a .npz or CSV file; every way the file can be unreadable or malformed
    ends as an EncodeError naming ``path``."""
    try:
        if os.path.getsize(path) > MAX_INPUT_BYTES:
            raise EncodeError(f"{path} is larger than {MAX_INPUT_BYTES} bytes")
        if path.lower().endswith(".npz"):
            return _read_npz(path)
        return _read_csv(path)
    except PladaError:
        raise
    except UnicodeDecodeError as exc:
        raise EncodeError(f"{path}: not UTF-8 text (byte {exc.start}); the input must be a .npz archive or a "
                          "CSV of index,label rows") from None
    except OSError as exc:
        raise EncodeError(f"{path}: {exc.strerror or exc}") from None
    except _READ_ERRORS as exc:
        raise EncodeError(f"{path}: cannot read it: {exc}") from None


def _read_npz(path: str):
    if os.path.getsize(path) == 0:
        raise EncodeError(f"{path} is empty, not a .npz archive")
    z = np.load(path, allow_pickle=False)
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise EncodeError(f"{path}: not a .npz archive (it holds a single array: a .npy file?)")
    extras: Dict[str, Any] = {}
    with z:
        if "indices" not in z or "labels" not in z:
            raise EncodeError(f"{path}: needs arrays 'indices' and 'labels' (has {sorted(z.files)})")
        idx, lab = z["indices"], z["labels"]
        for key in ("pool_size", "num_classes"):
            if key in z:
                extras[key] = _exact_int(z[key], f"{path}: {key}")
        if "class_names" in z:
            extras["class_names"] = _strings(z["class_names"], f"{path}: class_names")
    return idx, lab, extras


def _exact_int(a: np.ndarray, what: str) -> int:
    """One integer; a float is accepted only when it is a whole number (10.0, not 10.7)."""
    if a.shape == () and a.dtype.kind in "iu":
        return int(a)
    if a.shape == () and a.dtype.kind == "f" and float(a).is_integer():
        return int(a)
    found = repr(a.item()) if a.shape == () else f"an array of shape {a.shape}"
    raise EncodeError(f"{what} must be one integer, got {found} (dtype {a.dtype})")


def _strings(a: np.ndarray, what: str) -> List[str]:
    if a.ndim != 1 or a.dtype.kind not in "US":
        raise EncodeError(f"{what} must be a one-dimensional array of strings, got dtype {a.dtype}, "
                          f"shape {a.shape}")
    if a.dtype.kind == "U":
        return [str(x) for x in a]
    names = []
    for i, raw in enumerate(a.tolist()):
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise EncodeError(f"{what}[{i}] is not UTF-8: {raw!r}") from None
    return names


def _read_csv(path: str):
    """Rows of exactly two integers.  Blank lines are skipped; the first other line is a header (and
    dropped) only when none of its two fields looks like a number, so no data row is ever taken for one."""
    rows: List[Tuple[int, int]] = []
    first = True
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a byte-order mark is not data
        reader = csv.reader(f)
        for row in reader:
            fields = [x.strip() for x in row]
            if len(fields) <= 1 and not "".join(fields):
                continue  # blank line
            where = f"{path}:{reader.line_num}"
            if first:
                first = False
                if len(fields) == 2 and not any(map(_looks_numeric, fields)):
                    continue  # a header line such as "index,label"
            if len(fields) != 2:
                raise EncodeError(f"{where}: expected index,label (2 columns), got {len(fields)} "
                                  f"column{'s' * (len(fields) != 1)}: {row}")
            if not all(_INTEGER.match(x) for x in fields):
                raise EncodeError(f"{where}: not integers: {row}")
            values = (int(fields[0]), int(fields[1]))
            if not all(_INT64[0] <= v <= _INT64[1] for v in values):
                raise EncodeError(f"{where}: value out of range (64-bit integers): {row}")
            rows.append(values)
    if not rows:
        print(f"warning: {path} holds no index,label rows: the payload keeps no image", file=sys.stderr)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1], {}


def _looks_numeric(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_class_names(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise EncodeError(f"--class-names {path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise EncodeError(f"--class-names {path}: {exc.strerror or exc}") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's final line feed
    names = []
    for lineno, line in enumerate(lines, 1):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            raise EncodeError(f"{path}:{lineno}: blank line; --class-names needs one name on every line")
        names.append(line)
    return names


def _codec_choice(text: str, have_pool: bool):
    """The --codec value as encode() takes it; a bad one is a usage error (exit 2) phrased for the command
    line, raised before any input is read."""
    from .payload import FAST, PRESETS
    from .registry import SectionType, get_by_name, list_codecs

    if text in ("auto", FAST) or text in PRESETS:
        return text
    sides = {SectionType.INDICES: "index", SectionType.LABELS: "label"}
    known = "; ".join(f"{word} codecs: " + ", ".join(c.name for c in list_codecs(kind))
                      for kind, word in sides.items()) + f"; presets: auto, {FAST}, {', '.join(PRESETS)}"
    names = [x.strip() for x in text.split(",")]
    if len(names) > 2:
        raise UsageError(f"--codec {text}: give one codec per section, INDEX_CODEC,LABEL_CODEC")
    for name, side in zip(names, sides):
        if not name:
            continue  # this side is chosen automatically
        try:
            c = get_by_name(name)
        except KeyError:
            raise UsageError(f"unknown codec {name!r}; {known}") from None
        if len(names) == 1 and c.section in sides:
            example = f"'{name},'" if c.section == SectionType.INDICES else f"',{name}'"
            raise UsageError(f"--codec {name} codes only {c.section.name.lower()}; name one codec per section "
                              f"as INDEX_CODEC,LABEL_CODEC, e.g. {example} to choose the other side automatically")
        if c.section != (SectionType.JOINT if len(names) == 1 else side):
            wanted = "indices or labels" if len(names) == 1 else side.name.lower()
            raise UsageError(f"--codec {text}: {name} codes {c.section.name.lower()} sections, not {wanted}; "
                              f"the form is INDEX_CODEC,LABEL_CODEC ({known})")
        if c.needs_groups and not have_pool:
            raise UsageError(f"codec {name} needs the pool's folder structure: pass the pool with --pool")
    if len(names) == 1:
        return {"joint": names[0]}
    return {"indices": names[0] or None, "labels": names[1] or None}


def cmd_encode(args) -> int:
    from . import encode

    check_output(args.output)
    _check_pool_root(args)
    meta = json_object_option(args.meta)
    codec = _codec_choice(args.codec, have_pool=bool(args.pool))
    idx, lab, extras = _load_input(args.input)
    names = _read_class_names(args.class_names) if args.class_names else extras.get("class_names")
    pool = _open_pool(args.pool, args.pool_root)
    n = args.pool_size if args.pool_size is not None else extras.get("pool_size")
    if n is None and pool is not None:
        n = pool.identity.size  # the pool knows N; a pool_size given as well must match it (encode checks)
    c = args.num_classes if args.num_classes is not None else extras.get("num_classes")
    missing = [flag for flag, value in (("--pool-size (or --pool)", n), ("--num-classes", c)) if value is None]
    if missing:
        raise UsageError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required for this input")
    blob = encode(idx, lab, pool_size=n, num_classes=c, class_names=names, pool=pool, meta=meta, codec=codec)
    with atomic_output(args.output) as f:
        f.write(blob)
    k = len(idx)
    print(f"wrote {args.output}: k={k} N={n} C={c}, {len(blob)} bytes"
          + (f", {8 * len(blob) / k:.3f} bits per kept image" if k else ""))
    return EXIT_OK


def cmd_decode(args) -> int:
    out = args.output
    kind = out.lower()[-4:]
    check_output(out)
    _check_pool_root(args)
    if kind not in (".npz", ".csv"):
        raise UsageError(f"--output {out} must end in .npz or .csv")
    blob = _read_payload(args.payload)
    pool = _open_pool(args.pool, args.pool_root)
    p = _decode(blob, pool)
    if kind == ".npz":
        arrays = {"indices": p.indices, "labels": p.labels, "pool_size": np.int64(p.pool_size),
                  "num_classes": np.int64(p.num_classes)}
        if p.class_names:
            arrays["class_names"] = np.array(p.class_names)
        with atomic_output(out) as f:
            np.savez(f, **arrays)
    else:
        with atomic_output(out, newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["index", "label"])
            w.writerows(zip(p.indices.tolist(), p.labels.tolist()))
    print(f"wrote {out}: k={len(p)} N={p.pool_size} C={p.num_classes}")
    return EXIT_OK
