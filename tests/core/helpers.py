"""Byte-level helpers for the core tests: take payloads apart and put crafted ones back together with a
valid SHA-256 trailer, so a test reaches the check *behind* the digest (docs/FORMAT.md)."""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field, replace
from typing import List, Optional

import numpy as np

import plada_codec
from plada_codec import wire

HEADER = struct.Struct("<8sBBHIIIHBB")
ENTRY = struct.Struct("<BBHII")


def resign(body: bytes, fix_total: bool = True) -> bytes:
    """Append a fresh SHA-256 trailer to ``body`` (a payload without its trailer); by default also rewrite
    the header's total_length field so it matches."""
    body = bytearray(body)
    if fix_total and len(body) >= 16:
        struct.pack_into("<I", body, 12, len(body) + 32)
    return bytes(body) + hashlib.sha256(body).digest()


@dataclass
class Parts:
    """A payload split into its fields (the inverse of :meth:`build`)."""

    magic: bytes
    major: int
    minor: int
    flags: int
    total: int
    n: int
    k: int
    c: int
    nsec: int
    name_len: int
    pool_block: bytes
    entries: List[list] = field(default_factory=list)  # [type, flags, codec, raw, enc]
    bodies: List[bytes] = field(default_factory=list)

    def build(self, fix_counts: bool = True, fix_total: bool = True) -> bytes:
        """Reassemble with a valid digest.  ``fix_counts`` recomputes the section count and each entry's
        encoded length from ``bodies``; without it the fields are written as they are."""
        entries = [list(e) for e in self.entries]
        nsec = self.nsec
        if fix_counts:
            nsec = len(entries)
            for e, b in zip(entries, self.bodies):
                e[4] = len(b)
        head = HEADER.pack(self.magic, self.major, self.minor, self.flags, self.total, self.n, self.k,
                           self.c, nsec, self.name_len)
        body = head + self.pool_block + b"".join(ENTRY.pack(*e) for e in entries) + b"".join(self.bodies)
        return resign(body, fix_total=fix_total)

    def copy(self) -> "Parts":
        return replace(self, entries=[list(e) for e in self.entries], bodies=list(self.bodies))


def split(blob: bytes) -> Parts:
    (magic, major, minor, flags, total, n, k, c, nsec, name_len) = HEADER.unpack_from(blob, 0)
    pos = HEADER.size
    pool_block = b""
    if flags & 1:
        pool_block = blob[pos:pos + name_len + 32]
        pos += name_len + 32
    entries = [list(ENTRY.unpack_from(blob, pos + i * ENTRY.size)) for i in range(nsec)]
    pos += nsec * ENTRY.size
    bodies = []
    for e in entries:
        bodies.append(blob[pos:pos + e[4]])
        pos += e[4]
    assert pos == len(blob) - 32
    return Parts(magic, major, minor, flags, total, n, k, c, nsec, name_len, pool_block, entries, bodies)


def small_payloads() -> dict:
    """A few small valid payloads covering every issue-2 codec and the optional sections."""
    pool = plada_codec.PoolIdentity("toy-pool", 64, hashlib.sha256(b"toy").digest())
    idx = np.array([0, 3, 4, 9, 17, 30, 31, 50, 63])
    lab = np.array([0, 1, 1, 2, 0, 2, 2, 1, 0])
    out = {
        "packed": plada_codec.encode(idx, lab, pool_size=64, num_classes=3, codec="packed"),
        "static": plada_codec.encode(idx, lab, pool_size=64, num_classes=3, codec="static"),
        "bitmap": plada_codec.encode(idx, lab, pool_size=64, num_classes=3,
                                     codec={"indices": "bitmap", "labels": "packed-labels"}),
        "full": plada_codec.encode(idx, lab, pool_size=64, num_classes=3, pool=pool,
                                   class_names=["ant", "bee", "cat"], meta={"rule": "energy", "keep": 0.1},
                                   codec="static"),
        "empty": plada_codec.encode([], [], pool_size=5, num_classes=2),
    }
    return out


def decode_error(blob: bytes, **kw) -> Optional[BaseException]:
    """The exception decode raises on ``blob`` (None when it decodes)."""
    try:
        plada_codec.decode(blob, **kw)
    except BaseException as exc:  # noqa: BLE001 - the tests inspect what escaped
        return exc
    return None
