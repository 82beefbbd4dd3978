#!/usr/bin/env python
"""Write the golden vectors of docs/vectors/ (run once; see README.md).

    python docs/vectors/make_vectors.py            # writes the missing vectors, never overwrites
    python docs/vectors/make_vectors.py --force    # rewrite all (only with a format change: review the diff)

Valid vectors are produced by ``plada_codec.encode``; invalid ones are made from valid ones by editing
bytes, and most of them get a *recomputed* SHA-256 trailer so a reader reaches the check behind the
digest.  Each ``NAME.pld`` has a ``NAME.json`` with what a reader must get: for valid vectors the decoded
content, for invalid ones the error class (``plada_codec.errors``) and a word its message must contain.
Tests only read these files (tests/core/test_vectors.py); a missing file fails them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

import plada_codec
from plada_codec import PoolIdentity

HERE = Path(__file__).resolve().parent
HEADER = struct.Struct("<8sBBHIIIHBB")
ENTRY = struct.Struct("<BBHII")


def resign(body: bytes) -> bytes:
    """Rewrite total_length and append a fresh SHA-256 trailer to a payload without its trailer."""
    body = bytearray(body)
    struct.pack_into("<I", body, 12, len(body) + 32)
    return bytes(body) + hashlib.sha256(body).digest()


def table_offset(blob: bytes) -> int:
    flags, name_len = struct.unpack_from("<H", blob, 10)[0], blob[27]
    return 28 + (name_len + 32 if flags & 1 else 0)


def add_section(blob: bytes, stype: int, flags: int, codec: int, body: bytes) -> bytes:
    """Append one section (table entry + bytes) to a valid payload; it must sort last (highest type)."""
    pos = table_offset(blob)
    nsec = blob[26]
    table_end = pos + 12 * nsec
    out = bytearray(blob[:-32])
    out[26] = nsec + 1
    out[table_end:table_end] = ENTRY.pack(stype, flags, codec, len(body), len(body))
    out += body
    return resign(bytes(out))


def set_header(blob: bytes, fmt: str, offset: int, value: int) -> bytes:
    out = bytearray(blob[:-32])
    struct.pack_into(fmt, out, offset, value)
    return resign(bytes(out))


def valid_vectors():
    """name -> (blob, description, encode kwargs used)"""
    out = {}

    def enc(name, desc, indices, labels, **kw):
        blob = plada_codec.encode(np.asarray(indices, dtype=np.int64), np.asarray(labels, dtype=np.int64), **kw)
        out[name] = (blob, desc)

    enc("worked_example", "docs/FORMAT.md §8: indices [3, 7, 8], labels [0, 2, 2], N=10, C=3, codec packed",
        [3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3, codec="packed")
    enc("empty", "k = 0: N=5, C=2, auto codec, no optional sections", [], [], pool_size=5, num_classes=2)
    enc("all_kept", "k = N = 12, C = 1 (zero-width labels), auto codec", range(12), [0] * 12,
        pool_size=12, num_classes=1)
    enc("tiny_full", "pool identity, class names and meta on a hand-checkable payload (codec packed)",
        [1, 4, 6], [1, 0, 1], pool_size=8, num_classes=2, codec="packed",
        pool=PoolIdentity("toy", 8, hashlib.sha256(b"a/0.png\n").digest()),
        class_names=["cat", "dog"], meta={"keep": 0.375, "rule": "energy", "teacher": "small-cnn"})
    rng = np.random.default_rng(2026)
    n = 100_000
    idx = np.sort(rng.choice(n, 700, replace=False))
    lab = np.minimum(rng.zipf(1.6, 700) - 1, 99)
    enc("codec_packed_delta", "packed-delta (0x0010) indices + packed-labels (0x0020), k=700 of N=100000, C=100",
        idx, lab, pool_size=n, num_classes=100, codec={"indices": "packed-delta", "labels": "packed-labels"})
    enc("codec_rice_gaps", "rice-gaps (0x0012) indices + rans-labels (0x0021), same input",
        idx, lab, pool_size=n, num_classes=100, codec={"indices": "rice-gaps", "labels": "rans-labels"})
    dense = np.sort(rng.choice(3000, 1400, replace=False))
    enc("codec_bitmap", "bitmap (0x0011) indices + rans-labels (0x0021), k=1400 of N=3000 (375 bytes, no padding), "
        "C=7", dense, rng.integers(0, 7, 1400), pool_size=3000, num_classes=7,
        codec={"indices": "bitmap", "labels": "rans-labels"})
    enc("bitmap_padding", "bitmap with N=13 (3 zero padding bits) + packed-labels, C=5",
        [0, 5, 6, 12], [4, 0, 3, 1], pool_size=13, num_classes=5,
        codec={"indices": "bitmap", "labels": "packed-labels"})
    names = [f"class_{i:04d}_with_a_long_descriptive_name" for i in range(300)]
    enc("zstd_class_names", "class names long enough for the zstd byte codec (0x0001); N = 2**32-1, C=300",
        [0, 12345, 2**32 - 2], [299, 0, 150], pool_size=2**32 - 1, num_classes=300, class_names=names)
    enc("max_fields", "N = 2**32-1, C = 65535, largest index and label", [2**32 - 2], [65534],
        pool_size=2**32 - 1, num_classes=65535, codec="packed")
    base = out["worked_example"][0]
    out["unknown_optional_section"] = (
        add_section(base, 200, 0, 0x0000, b"future data"),
        "worked example + an optional section of unknown type 200 (11 bytes, codec 0x0000): skipped, reported")
    out["minor_version_9"] = (
        set_header(base, "<B", 9, 9), "worked example with minor version 9: readers of 1.x MUST accept it")
    return out


def invalid_vectors(valid):
    base = valid["worked_example"][0]
    full = valid["tiny_full"][0]
    out = {}
    out["truncated"] = (base[:-1], "TruncatedPayload", "88",
                        "worked example without its last byte")
    bad = bytearray(base)
    bad[-1] ^= 0x01
    out["bad_digest"] = (bytes(bad), "CorruptPayload", "SHA-256", "worked example with one trailer bit flipped")
    out["bad_magic"] = (b"\x89PLX" + base[4:], "CorruptPayload", "magic", "worked example with byte 3 changed")
    out["trailing_bytes"] = (base + b"\x00", "CorruptPayload", "after the declared end",
                             "worked example plus one zero byte")
    out["unknown_critical_section"] = (add_section(base, 9, 1, 0x0000, b"must understand"), "UnsupportedFeature",
                                       "9", "worked example + a critical section of unknown type 9 (valid digest)")
    out["k_greater_than_n"] = (set_header(base, "<I", 20, 11), "CorruptPayload", "exceeds",
                               "worked example with k = 11 > N = 10 (valid digest)")
    out["major_version_2"] = (set_header(base, "<B", 8, 2), "UnsupportedFeature", "version 2",
                              "worked example with major version 2 (valid digest)")
    out["unknown_codec"] = (set_header(base, "<H", table_offset(base) + 2, 0x7E57), "UnsupportedFeature", "0x7e57",
                            "worked example whose INDICES section names codec 0x7e57 (valid digest)")
    # META section of tiny_full replaced by a 21-byte zstd frame declaring 2**40 bytes; raw_length agrees
    frame = b"\x28\xb5\x2f\xfd" + bytes([0xC0, 13 << 3]) + struct.pack("<Q", 2**40) + b"\x01\x00\x00"
    pos = table_offset(full)
    entries = [list(ENTRY.unpack_from(full, pos + 12 * i)) for i in range(full[26])]
    bodies, off = [], pos + 12 * len(entries)
    for e in entries:
        bodies.append(full[off:off + e[4]])
        off += e[4]
    entries[3][2:5] = [0x0001, 2**32 - 1, len(frame)]
    bodies[3] = frame
    body = full[:pos] + b"".join(ENTRY.pack(*e) for e in entries) + b"".join(bodies)
    out["zstd_huge_content_size"] = (resign(body), "LimitExceeded", "meta",
                                     "tiny_full whose META section is a zstd frame declaring 2**40 bytes, "
                                     "raw_length 2**32-1 (valid digest)")
    out["sections_out_of_order"] = (None, "CorruptPayload", "order", "worked example with its two table entries "
                                    "and sections swapped (valid digest)")
    pos = table_offset(base)
    table = base[pos:pos + 24]
    swapped = base[:pos] + table[12:] + table[:12] + base[pos + 24 + 3:pos + 24 + 4] + base[pos + 24:pos + 24 + 3]
    out["sections_out_of_order"] = (resign(swapped),) + out["sections_out_of_order"][1:]
    return out


def expectation_valid(blob, desc):
    p = plada_codec.decode(blob)
    info = plada_codec.inspect(blob)
    return {
        "valid": True,
        "description": desc,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
        "version": list(p.version),
        "pool_size": p.pool_size,
        "num_classes": p.num_classes,
        "kept": len(p),
        "indices": p.indices.tolist(),
        "labels": p.labels.tolist(),
        "class_names": p.class_names,
        "meta": p.meta,
        "pool": None if p.pool is None else {"name": p.pool.name, "size": p.pool.size,
                                             "sha256": p.pool.hexdigest},
        "sections": [{"type": s["type_id"], "critical": s["critical"], "codec": s["codec_id"],
                      "raw_length": s["raw_length"], "encoded_length": s["encoded_bytes"]}
                     for s in info["sections"]],
        "skipped_sections": [list(s) for s in p.skipped_sections],
    }


def dump(expect: dict) -> str:
    """One key per line, values compact (long index lists stay on one line)."""
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
             for k, v in expect.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="overwrite existing vectors")
    ap.add_argument("--out", default=str(HERE), help="folder to write (default: this folder)")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    valid = valid_vectors()
    files = {}
    for name, (blob, desc) in valid.items():
        files[name] = (blob, expectation_valid(blob, desc))
    for name, (blob, error, word, desc) in invalid_vectors(valid).items():
        try:
            plada_codec.decode(blob)
            raise SystemExit(f"invalid vector {name} decodes")
        except plada_codec.PladaError as exc:
            if type(exc).__name__ != error or word.lower() not in str(exc).lower():
                raise SystemExit(f"invalid vector {name}: expected {error} with {word!r}, got {exc!r}")
        files[name] = (blob, {"valid": False, "description": desc, "sha256": hashlib.sha256(blob).hexdigest(),
                              "size": len(blob), "error": error, "message_contains": word})
    written = 0
    for name, (blob, expect) in sorted(files.items()):
        pld, js = out_dir / f"{name}.pld", out_dir / f"{name}.json"
        if not args.force and (pld.exists() or js.exists()):
            continue
        pld.write_bytes(blob)
        js.write_text(dump(expect), encoding="utf-8")
        written += 1
    print(f"{written} vectors written, {len(files) - written} kept, in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
