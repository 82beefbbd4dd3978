"""Pool identity: canonical manifest order, bytes, id, cache and in-memory pools."""
from __future__ import annotations

import hashlib
import os
import unicodedata

import numpy as np
import pytest

from plada_codec.errors import PoolError
from plada_codec.pool import CACHE_FILENAME, Pool, parse_manifest, sort_key

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200017c0b4d560000000049454e44ae426082"
)


def make_tree(root, names):
    for n in names:
        p = root.joinpath(*n.split("/"))
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(PNG_1x1)
    return root


def age_tree(root, seconds=3600):
    """Move every folder's mtime into the past so the cache is not 'racy'."""
    past = os.stat(root).st_mtime - seconds
    for dirpath, _, _ in os.walk(root):
        os.utime(dirpath, (past, past))


TREE = [
    "b/2.png", "b/10.png", "a/x.JPG", "a b/y.png", "a-b/z.png", "a/sub/w.png", "a/sub0.png",
    "a/sub b/v.png", "top.png", "c/deep/er/u.webp", "c/notes.txt", "c/.hidden.png", ".git/q.png",
    "dé/ñ.png", "日本/猫.png",
]


def test_manifest_order_bytes_and_id(tmp_path):
    root = make_tree(tmp_path / "pool", TREE)
    pool = Pool.from_folder(root, cache=False)
    assert pool.paths == [
        "top.png", "a/sub0.png", "a/x.JPG", "a/sub/w.png", "a/sub b/v.png", "a b/y.png", "a-b/z.png",
        "b/10.png", "b/2.png", "c/deep/er/u.webp", "dé/ñ.png", "日本/猫.png",
    ]
    data = pool.manifest_bytes()
    assert data == ("\n".join(pool.paths) + "\n").encode("utf-8")
    assert pool.identity.sha256 == hashlib.sha256(data).digest()
    assert pool.identity.size == 12 and pool.identity.name == "pool"
    assert pool.group_sizes.tolist() == [1, 2, 1, 1, 1, 1, 2, 1, 1, 1]
    assert pool.group_names[:3] == ["", "a", "a/sub"]
    assert parse_manifest(data) == pool.paths


def test_order_equals_torchvision_imagefolder(tmp_path):
    datasets = pytest.importorskip("torchvision.datasets")
    # ImageFolder ignores files directly under the root and lists hidden entries, so leave both out here
    names = [n for n in TREE if "/" in n and not any(part.startswith(".") for part in n.split("/"))]
    root = make_tree(tmp_path / "pool", names)
    pool = Pool.from_folder(root, cache=False)
    folder = datasets.ImageFolder(str(root))
    rel = [os.path.relpath(p, root).replace(os.sep, "/") for p, _ in folder.samples]
    assert pool.paths == rel
    # plain code-point order of whole paths would differ ("a b/" < "a/"), which is why the key is split
    assert sorted(rel) != rel


def test_unicode_names_are_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", "café/é.png")
    root = make_tree(tmp_path / "p", [nfd])
    pool = Pool.from_folder(root, cache=False)
    assert pool.paths == ["café/é.png"]
    assert pool.manifest_bytes() == "café/é.png\n".encode("utf-8")


def test_adding_or_removing_a_file_changes_the_id(tmp_path):
    root = make_tree(tmp_path / "p", ["a/1.png", "a/2.png"])
    first = Pool.from_folder(root).identity
    make_tree(root, ["a/3.png"])
    added = Pool.from_folder(root).identity
    (root / "a" / "1.png").unlink()
    removed = Pool.from_folder(root).identity
    assert len({first.sha256, added.sha256, removed.sha256}) == 3
    assert (first.size, added.size, removed.size) == (2, 3, 2)
    (root / "a" / "2.png").write_bytes(b"other content")  # contents are not part of the identity
    assert Pool.from_folder(root).identity == removed


def test_cache_is_reused_and_invalidated(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "p", ["a/1.png", "b/1.png", "b/c/2.png"])
    age_tree(root)
    pool = Pool.from_folder(root)
    assert (root / CACHE_FILENAME).exists()
    import plada_codec.pool as pool_mod

    calls = []
    real_scan = pool_mod._scan
    monkeypatch.setattr(pool_mod, "_scan", lambda r: calls.append(r) or real_scan(r))
    again = Pool.from_folder(root)
    assert again.identity == pool.identity and calls == []
    # a new file deep down: its folder's names change, the cache must not be used
    make_tree(root, ["b/c/3.png"])
    changed = Pool.from_folder(root)
    assert len(calls) == 1 and len(changed) == 4
    # an edited cache file (manifest body changed) is ignored, never trusted
    age_tree(root)
    Pool.from_folder(root)
    cache = root / CACHE_FILENAME
    cache.write_bytes(cache.read_bytes().replace(b"a/1.png\n", b"a/0.png\n"))
    assert Pool.from_folder(root).paths[0] == "a/1.png"


def test_read_only_root_uses_user_cache(tmp_path, monkeypatch):
    import plada_codec.pool as pool_mod

    root = make_tree(tmp_path / "p", ["a/1.png"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real_write = pool_mod._atomic_write

    def refuse_root(path, data, mkdir=False):  # what a read-only root does (root ignores chmod)
        if path.parent == root:
            raise PermissionError(13, "read-only file system")
        return real_write(path, data, mkdir)

    monkeypatch.setattr(pool_mod, "_atomic_write", refuse_root)
    pool = Pool.from_folder(root)
    assert not (root / CACHE_FILENAME).exists()
    cached = list((tmp_path / "cache" / "plada_codec" / "manifests").iterdir())
    assert len(cached) == 1
    age_tree(root)
    Pool.from_folder(root)  # rewrite with aged folders, then it must be reused
    monkeypatch.setattr(pool_mod, "_scan", lambda r: pytest.fail("cache not reused"))
    assert Pool.from_folder(root).identity == pool.identity


def test_from_manifest_roundtrip_and_errors(tmp_path):
    root = make_tree(tmp_path / "p", ["a/1.png", "b/2.png"])
    pool = Pool.from_folder(root, cache=False)
    pool.write_manifest(tmp_path / "m.txt")
    again = Pool.from_manifest(tmp_path / "m.txt", root)
    assert again.identity == pool.identity
    assert np.asarray(again.load_image(1)).shape == (1, 1)
    for bad in [b"b/2.png\na/1.png\n", b"a/1.png\na/1.png\n", b"a/1.png", b"a/1.png\r\n", b"\xff\n", b""]:
        (tmp_path / "bad.txt").write_bytes(bad)
        with pytest.raises(PoolError):
            Pool.from_manifest(tmp_path / "bad.txt", root)
    with pytest.raises(PoolError, match="cannot read"):
        Pool.from_manifest(tmp_path / "missing.txt", root)


def test_errors(tmp_path):
    with pytest.raises(PoolError):
        Pool.from_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoolError, match="no images"):
        Pool.from_folder(tmp_path / "empty", cache=False)
    root = make_tree(tmp_path / "nl", ["a/x\ny.png"])
    with pytest.raises(PoolError, match="line break"):
        Pool.from_folder(root, cache=False)


def test_from_arrays():
    imgs = np.arange(4 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2)
    pool = Pool.from_arrays(imgs, ["x/1.png", "x/2.png", "y/1.png", "y/z/1.png"], name="mem")
    assert len(pool) == 4 and pool.group_sizes.tolist() == [2, 1, 1]
    assert np.array_equal(np.asarray(pool.load_image(2)), imgs[2])
    default = Pool.from_arrays(imgs)
    assert default.paths[0] == "00000000.png" and default.identity != pool.identity
    with pytest.raises(PoolError, match="order"):
        Pool.from_arrays(imgs, ["y/1.png", "x/1.png", "x/2.png", "z.png"])
    with pytest.raises(PoolError):
        Pool.from_arrays(imgs.astype(np.float32))
    with pytest.raises(PoolError):
        Pool.from_arrays(imgs, ["a.png"])


def test_sort_key_is_folder_then_rest_then_name():
    assert sort_key("a.png") == ("", "", "a.png")
    assert sort_key("c/d/e/f.png") == ("c", "d/e", "f.png")


def test_jpeg_draft_decoding_keeps_the_requested_size(tmp_path):
    from PIL import Image

    (tmp_path / "p" / "a").mkdir(parents=True)
    photo = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "p" / "a" / "x.jpg")
    Image.fromarray(photo).save(tmp_path / "p" / "a" / "y.png")
    pool = Pool.from_folder(tmp_path / "p", cache=False)
    assert pool.load_image(0).size == (640, 480)
    assert pool.load_image(0, min_size=64).size == (160, 120)  # 1/4 scale, both sides still >= 64
    assert pool.load_image(1, min_size=64).size == (640, 480)  # PNG: no reduced decoding
