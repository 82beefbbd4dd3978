"""Byte-string codecs for the CLASS_NAMES and META sections: raw (0x0000) and zstd (0x0001)."""
from __future__ import annotations

import zstandard

from ..errors import CorruptPayload, TruncatedPayload
from ..registry import Codec, SectionType, StreamContext, register

ZSTD_LEVEL = 19
MAX_WINDOW = 1 << 23  # 8 MiB: more than any section we write needs


class RawBytes(Codec):
    codec_id = 0x0000
    name = "raw"
    section = SectionType.BYTES

    def encode(self, values: bytes, ctx: StreamContext) -> bytes:
        return bytes(values)

    def decode(self, data, ctx: StreamContext) -> bytes:
        if len(data) != ctx.raw_length:
            raise CorruptPayload(f"raw section holds {len(data)} bytes, header says {ctx.raw_length}")
        return bytes(data)


#: zstd skippable frames (RFC 8878 §3.1.2) start with 0x184D2A50-0x184D2A5F, little-endian
SKIPPABLE_MAGIC = 0x184D2A50


class ZstdBytes(Codec):
    codec_id = 0x0001
    name = "zstd"
    section = SectionType.BYTES

    def encode(self, values: bytes, ctx: StreamContext) -> bytes:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(bytes(values))

    def decode(self, data, ctx: StreamContext) -> bytes:
        # The frame must declare its content size, equal to the section's raw length (already bounded by
        # the caller's limits); libzstd then refuses to produce more.  The window is capped as well, so a
        # crafted frame cannot make us allocate more than these bounds.
        expected = ctx.raw_length
        raw = bytes(data)
        if len(raw) >= 4 and int.from_bytes(raw[:4], "little") & ~0xF == SKIPPABLE_MAGIC:
            raise CorruptPayload("zstd section: a skippable frame, not the one zstd frame FORMAT.md §6.1 allows")
        try:
            declared = zstandard.frame_content_size(raw)
        except zstandard.ZstdError as exc:
            if len(raw) < 18:
                raise TruncatedPayload(f"zstd section: frame header cut short ({exc})") from None
            raise CorruptPayload(f"zstd section: {exc}") from None
        if declared != expected:
            raise CorruptPayload(
                f"zstd frame declares {declared if declared >= 0 else 'no'} content size, "
                f"section header says {expected} bytes"
            )
        try:
            dobj = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
            out = dobj.decompress(raw)
        except zstandard.ZstdError as exc:
            raise CorruptPayload(f"zstd section: {exc}") from None
        if not dobj.eof:
            raise TruncatedPayload("zstd section: frame is cut short")
        if dobj.unused_data:
            raise CorruptPayload(f"zstd section: {len(dobj.unused_data)} bytes after the frame")
        if len(out) != expected:
            raise CorruptPayload(f"zstd section decodes to {len(out)} bytes, header says {expected}")
        return out


register(RawBytes())
register(ZstdBytes())
