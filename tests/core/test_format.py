"""The container layout of docs/FORMAT.md §2-§5, checked byte by byte on payloads the encoder writes."""
from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

import plada_codec
from plada_codec import PoolIdentity

from .helpers import small_payloads, split

MAGIC = bytes([0x89, 0x50, 0x4C, 0x44, 0x0D, 0x0A, 0x1A, 0x0A])

# docs/FORMAT.md §8, copied from the spec: the encoder must write exactly these bytes
WORKED_EXAMPLE_HEX = """
89 50 4c 44 0d 0a 1a 0a 01 00 00 00 58 00 00 00
0a 00 00 00 03 00 00 00 03 00 02 00 01 01 10 00
03 00 00 00 03 00 00 00 02 01 20 00 03 00 00 00
01 00 00 00 02 00 0f 28 8c 3d e7 15 a2 03 4e 2f
58 da 11 9c 95 18 e9 81 e7 70 d1 44 cf c2 8b e3
ad 3f cb 37 d0 f7 a5 cc
"""


def test_worked_example_bytes():
    blob = plada_codec.encode([3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3, codec="packed")
    assert blob == bytes.fromhex(WORKED_EXAMPLE_HEX)
    assert len(blob) == 88


def test_magic_and_version():
    blob = plada_codec.encode([1], [0], pool_size=2, num_classes=1)
    assert blob[:8] == MAGIC
    assert blob[0] >= 0x80  # first byte non-ASCII
    assert blob[8] == 1 and blob[9] == 0


@pytest.mark.parametrize("with_pool", [False, True])
def test_header_fields_at_documented_offsets(with_pool):
    pool = PoolIdentity("my pool ü", 123_456, hashlib.sha256(b"x").digest()) if with_pool else None
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(123_456, 777, replace=False))
    blob = plada_codec.encode(idx, rng.integers(0, 300, 777), pool_size=123_456, num_classes=300, pool=pool)
    assert struct.unpack_from("<H", blob, 10)[0] == (1 if with_pool else 0)
    assert struct.unpack_from("<I", blob, 12)[0] == len(blob)
    assert struct.unpack_from("<I", blob, 16)[0] == 123_456
    assert struct.unpack_from("<I", blob, 20)[0] == 777
    assert struct.unpack_from("<H", blob, 24)[0] == 300
    assert blob[26] == 2
    name = "my pool ü".encode() if with_pool else b""
    assert blob[27] == len(name)
    pos = 28
    if with_pool:
        assert blob[28:28 + len(name)] == name
        assert blob[28 + len(name):28 + len(name) + 32] == hashlib.sha256(b"x").digest()
        pos += len(name) + 32
    # section table right after the pool block
    t0 = struct.unpack_from("<BBHII", blob, pos)
    t1 = struct.unpack_from("<BBHII", blob, pos + 12)
    assert (t0[0], t0[1], t0[3]) == (1, 1, 777) and (t1[0], t1[1], t1[3]) == (2, 1, 777)
    assert pos + 24 + t0[4] + t1[4] + 32 == len(blob)  # exact tiling
    assert blob[-32:] == hashlib.sha256(blob[:-32]).digest()


def test_sections_ascending_with_critical_flags_and_exact_tiling():
    for name, blob in small_payloads().items():
        p = split(blob)  # asserts the sections end exactly at the trailer
        types = [e[0] for e in p.entries]
        assert types == sorted(set(types)), name
        for t, flags, codec, raw, enc in p.entries:
            assert flags == (1 if t in (1, 2, 5) else 0), (name, t)
            if t in (1, 2, 5):
                assert raw == p.k
        assert p.total == len(blob)
        overhead = 28 + len(p.pool_block) + 12 * len(p.entries) + 32
        assert overhead + sum(e[4] for e in p.entries) == len(blob)
        assert plada_codec.inspect(blob)["overhead_bytes"] == overhead


def test_full_payload_section_contents():
    p = split(small_payloads()["full"])
    assert [e[0] for e in p.entries] == [1, 2, 3, 4]
    # short byte sections: raw (0x0000) beats zstd; names joined by LF without a trailing LF, meta as
    # compact JSON with sorted keys
    assert p.entries[2][2:] == [0x0000, 11, 11] and p.bodies[2] == b"ant\nbee\ncat"
    assert p.entries[3][2] == 0x0000 and p.bodies[3] == b'{"keep":0.1,"rule":"energy"}'
    assert p.flags == 1 and p.pool_block[:p.name_len] == b"toy-pool"


def test_packed_sections_are_the_documented_streams():
    # FORMAT.md §6.2 / §6.5: indices 5..304 -> gaps [5, 0 x 299]; blocks of 128
    blob = plada_codec.encode(np.arange(5, 305), np.ones(300, int), pool_size=400, num_classes=2,
                              codec="packed")
    p = split(blob)
    block1 = bytes([3, 0, 0x05]) + bytes(47)  # w = 3, r = 0, values 5,0,0,... in 3 bits: 48 bytes
    block2 = bytes([0, 0])                    # 128 gaps of 0: w = 0, r = 0, no value bytes
    block3 = bytes([0, 0])                    # the last 44 gaps
    assert p.bodies[0] == block1 + block2 + block3
    assert p.bodies[1] == b"\xff" * 37 + b"\x0f"  # 300 labels of 1 bit, zero padding


def test_bitmap_section_layout():
    blob = plada_codec.encode([0, 9, 15], [0, 0, 0], pool_size=17, num_classes=1,
                              codec={"indices": "bitmap", "labels": "packed-labels"})
    p = split(blob)
    assert p.entries[0][2] == 0x0011 and p.bodies[0] == bytes([0x01, 0x82, 0x00])
    assert p.entries[1][2] == 0x0020 and p.bodies[1] == b""  # C = 1: zero-width labels


def test_inspect_reads_header_without_decoding():
    blob = small_payloads()["full"]
    info = plada_codec.inspect(blob)
    assert info["version"] == "1.0" and info["pool_size"] == 64 and info["kept"] == 9
    assert info["num_classes"] == 3 and info["total_bytes"] == len(blob)
    assert info["pool"]["name"] == "toy-pool" and len(info["pool"]["sha256"]) == 64
    assert [s["type"] for s in info["sections"]] == ["indices", "labels", "class_names", "meta"]
    assert [s["codec"] for s in info["sections"]][:2] == ["rice-gaps", "rans-labels"]
    assert info["bits_per_kept"] == pytest.approx(8 * len(blob) / 9)
    # a stream that does not decode is not noticed by inspect (it decodes nothing)
    p = split(small_payloads()["packed"])
    p.bodies[0] = bytes([33]) + p.bodies[0][1:]
    bad = p.build()
    assert plada_codec.inspect(bad)["kept"] == 9
    with pytest.raises(plada_codec.CorruptPayload):
        plada_codec.decode(bad)
