"""The .pld container: fixed header, optional pool identity, section table, sections, SHA-256 trailer.

This module only frames bytes; it knows nothing of codecs.  docs/FORMAT.md is normative; the section
numbers in comments refer to it.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence

from .errors import CorruptPayload, EncodeError, LimitExceeded, TruncatedPayload, UnsupportedFeature
from .identity import PoolIdentity
from .limits import Limits
from .registry import SectionType

MAGIC = b"\x89PLD\r\n\x1a\n"
MAJOR = 1
MINOR = 0
FIXED_HEADER = struct.Struct("<8sBBHIIIHBB")  # magic, major, minor, flags, total, N, k, C, S, P
FIXED_HEADER_SIZE = FIXED_HEADER.size  # 28
TABLE_ENTRY = struct.Struct("<BBHII")  # type, flags, codec, raw_length, encoded_length
TABLE_ENTRY_SIZE = TABLE_ENTRY.size  # 12
DIGEST_SIZE = 32
MAX_SECTIONS = 16
FLAG_POOL = 0x0001
SECTION_CRITICAL = 0x01
MIN_PAYLOAD = FIXED_HEADER_SIZE + DIGEST_SIZE

#: section types this version knows, with their required critical flag (FORMAT.md §5)
KNOWN_SECTIONS = {
    SectionType.INDICES: True,
    SectionType.LABELS: True,
    SectionType.CLASS_NAMES: False,
    SectionType.META: False,
    SectionType.JOINT: True,
}


@dataclass(frozen=True)
class Header:
    major: int
    minor: int
    flags: int
    total_length: int
    pool_size: int
    kept: int
    num_classes: int
    section_count: int
    pool: Optional[PoolIdentity]
    header_length: int  # fixed header + pool block


@dataclass(frozen=True)
class Section:
    type: int
    critical: bool
    codec_id: int
    raw_length: int
    offset: int  # of the encoded bytes in the file
    data: memoryview

    @property
    def encoded_length(self) -> int:
        return len(self.data)

    @property
    def type_name(self) -> str:
        try:
            return SectionType(self.type).name.lower()
        except ValueError:
            return f"unknown-{self.type}"


@dataclass(frozen=True)
class SectionSpec:
    """A section to write."""

    type: SectionType
    codec_id: int
    raw_length: int
    data: bytes


def pack(pool_size: int, kept: int, num_classes: int, pool: Optional[PoolIdentity],
         sections: Sequence[SectionSpec]) -> bytes:
    """Assemble a payload.  Sections are written in ascending type order."""
    sections = sorted(sections, key=lambda s: int(s.type))
    if not 1 <= len(sections) <= MAX_SECTIONS:
        raise EncodeError(f"{len(sections)} sections; a payload holds 1..{MAX_SECTIONS}")
    pool_block = b""
    flags = 0
    if pool is not None:
        name = pool.name.encode("utf-8")
        pool_block = name + bytes(pool.sha256)
        flags |= FLAG_POOL
    else:
        name = b""
    table = bytearray()
    body = bytearray()
    for s in sections:
        critical = KNOWN_SECTIONS.get(SectionType(s.type), True)
        if len(s.data) > 0xFFFFFFFF or s.raw_length > 0xFFFFFFFF:
            raise EncodeError(f"{SectionType(s.type).name} section is larger than 4 GiB")
        table += TABLE_ENTRY.pack(int(s.type), SECTION_CRITICAL if critical else 0, s.codec_id,
                                  s.raw_length, len(s.data))
        body += s.data
    total = FIXED_HEADER_SIZE + len(pool_block) + len(table) + len(body) + DIGEST_SIZE
    if total > 0xFFFFFFFF:
        raise EncodeError("payload would be larger than 4 GiB")
    head = FIXED_HEADER.pack(MAGIC, MAJOR, MINOR, flags, total, pool_size, kept, num_classes,
                             len(sections), len(name))
    blob = bytearray(head)
    blob += pool_block
    blob += table
    blob += body
    blob += hashlib.sha256(blob).digest()
    return bytes(blob)


def parse(blob, limits: Limits, verify_digest: bool = True) -> "tuple[Header, List[Section]]":
    """Check framing and integrity (FORMAT.md §7, in that order) and split the payload into sections.
    Nothing is allocated in proportion to any declared size."""
    view = memoryview(blob).cast("B") if not isinstance(blob, memoryview) else blob.cast("B")
    n = len(view)
    # 1. magic (a prefix of it, when the file is shorter than 8 bytes; an empty file is such a prefix, so
    #    it is reported as truncated by check 2)
    if bytes(view[:8]) != MAGIC[:min(n, 8)]:
        raise CorruptPayload("not a .pld payload (bad magic bytes)")
    if n < MIN_PAYLOAD:
        raise TruncatedPayload(f"payload is {n} bytes, shorter than the {MIN_PAYLOAD}-byte minimum")
    (_, major, minor, flags, total, pool_size, kept, num_classes, nsec, name_len) = FIXED_HEADER.unpack_from(view, 0)
    # 2. declared total length against the caller's limit and the bytes at hand
    limits.check("declared payload size", total, "max_payload_bytes")
    if n < total:
        raise TruncatedPayload(f"payload is {n} bytes, its header declares {total}")
    if n > total:
        raise CorruptPayload(f"{n - total} bytes after the declared end of the payload ({total} bytes)")
    # 3. trailer digest over everything before it
    if verify_digest:
        digest = hashlib.sha256(view[:n - DIGEST_SIZE]).digest()
        if digest != bytes(view[n - DIGEST_SIZE:]):
            raise CorruptPayload("SHA-256 trailer does not match the payload (corrupted or altered)")
    # 4. version
    if major != MAJOR:
        raise UnsupportedFeature(f"payload format major version {major}; this reader supports {MAJOR}")
    # 5. header fields
    if flags & ~FLAG_POOL:
        raise CorruptPayload(f"reserved header flag bits are set (flags=0x{flags:04x})")
    if pool_size < 1:
        raise CorruptPayload("pool size N is 0")
    limits.check("pool size N", pool_size, "max_pool_size")
    if kept > pool_size:
        raise CorruptPayload(f"kept count k={kept} exceeds pool size N={pool_size}")
    limits.check("kept count k", kept, "max_kept")
    if num_classes < 1:
        raise CorruptPayload("num_classes C is 0")
    limits.check("num_classes C", num_classes, "max_classes")
    if not 1 <= nsec <= MAX_SECTIONS:
        raise CorruptPayload(f"section count {nsec} outside 1..{MAX_SECTIONS}")
    pos = FIXED_HEADER_SIZE
    pool = None
    if flags & FLAG_POOL:
        end = pos + name_len + 32
        if end > n - DIGEST_SIZE:
            raise CorruptPayload("pool identity block runs past the trailer")
        try:
            name = bytes(view[pos:pos + name_len]).decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptPayload("pool name is not valid UTF-8") from None
        pool = PoolIdentity(name=name, size=pool_size, sha256=bytes(view[pos + name_len:end]))
        pos = end
    elif name_len:
        raise CorruptPayload("pool name length is set but the pool flag is not")
    header_length = pos
    table_end = pos + nsec * TABLE_ENTRY_SIZE
    if table_end > n - DIGEST_SIZE:
        raise CorruptPayload("section table runs past the trailer")
    entries = [TABLE_ENTRY.unpack_from(view, pos + i * TABLE_ENTRY_SIZE) for i in range(nsec)]
    # 6. sections tile [table_end, n - 32) exactly, in strictly ascending type order
    offset = table_end
    sections: List[Section] = []
    prev_type = 0
    for (stype, sflags, codec_id, raw_length, enc_length) in entries:
        if stype == 0:
            raise CorruptPayload("section type 0 is not a valid type")
        if stype <= prev_type:
            raise CorruptPayload(f"section types out of order or repeated (type {stype} after {prev_type})")
        prev_type = stype
        if sflags & ~SECTION_CRITICAL:
            raise CorruptPayload(f"reserved section flag bits set on section type {stype}")
        critical = bool(sflags & SECTION_CRITICAL)
        if stype in KNOWN_SECTIONS.keys() and KNOWN_SECTIONS[SectionType(stype)] != critical:
            raise CorruptPayload(f"{SectionType(stype).name} section has the wrong critical flag")
        if offset + enc_length > n - DIGEST_SIZE:
            raise CorruptPayload(f"section type {stype} ({enc_length} bytes) runs past the end of the file")
        sections.append(Section(stype, critical, codec_id, raw_length, offset, view[offset:offset + enc_length]))
        offset += enc_length
    if offset != n - DIGEST_SIZE:
        raise CorruptPayload(f"{n - DIGEST_SIZE - offset} bytes between the last section and the trailer")
    header = Header(major, minor, flags, total, pool_size, kept, num_classes, nsec, pool, header_length)
    return header, sections

