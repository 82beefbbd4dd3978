"""Caller mistakes at the API surface are reported with the error tree, never as corruption."""
import subprocess
import sys

import numpy as np
import pytest

import plada_codec
from plada_codec import DecodeError, EncodeError, Limits, PoolError, TruncatedPayload


@pytest.fixture(scope="module")
def blob():
    return plada_codec.encode([1, 2], [0, 0], pool_size=3, num_classes=1)


@pytest.mark.parametrize("bad", ["text", 12, None, [1, 2]])
def test_decode_rejects_non_bytes(bad):
    with pytest.raises(DecodeError, match="expects bytes"):
        plada_codec.decode(bad)


def test_decode_rejects_a_pool_of_the_wrong_type(blob):
    with pytest.raises(PoolError, match="Pool or PoolIdentity"):
        plada_codec.decode(blob, pool="my-pool")


def test_decode_rejects_limits_of_the_wrong_type(blob):
    with pytest.raises(DecodeError, match="Limits"):
        plada_codec.decode(blob, limits={"max_kept": 1})


def test_encode_rejects_a_pool_of_the_wrong_type():
    with pytest.raises(EncodeError, match="Pool or PoolIdentity"):
        plada_codec.encode([1], [0], pool_size=3, num_classes=1, pool=object())


def test_bytearray_and_memoryview_decode_like_bytes(blob):
    for form in (bytearray(blob), memoryview(blob)):
        assert plada_codec.decode(form).indices.tolist() == [1, 2]


# ------------------------------------------------------------------ inspect / decode take the same inputs

@pytest.mark.parametrize("bad", ["x.pld", None, 5, [1, 2]])
def test_inspect_rejects_non_bytes_like_decode(bad):
    with pytest.raises(DecodeError, match="inspect expects bytes"):
        plada_codec.inspect(bad)


def test_a_str_argument_points_to_load():
    with pytest.raises(DecodeError, match=r"plada_codec\.load"):
        plada_codec.decode("task.pld")


def test_decode_and_inspect_accept_a_uint8_array(blob):
    arr = np.frombuffer(blob, dtype=np.uint8)
    assert plada_codec.decode(arr).indices.tolist() == [1, 2]
    assert plada_codec.inspect(arr)["kept"] == 2
    strided = np.repeat(arr, 2)[::2]  # same bytes, not contiguous
    assert plada_codec.decode(strided).indices.tolist() == [1, 2]


@pytest.mark.parametrize("fn", [plada_codec.decode, plada_codec.inspect])
def test_arrays_other_than_flat_uint8_are_refused(blob, fn):
    arr = np.frombuffer(blob, dtype=np.uint8)
    for bad in (arr.astype(np.int64), arr[:56].reshape(7, 8)):
        with pytest.raises(DecodeError, match="1-D uint8"):
            fn(bad)


@pytest.mark.parametrize("fn", [plada_codec.decode, plada_codec.inspect])
def test_empty_payload_is_truncated(fn):
    with pytest.raises(TruncatedPayload, match="0 bytes"):
        fn(b"")


# ------------------------------------------------------------------------------ encode argument checks

E = dict(pool_size=8, num_classes=2)


@pytest.mark.parametrize("kwargs, word", [
    (dict(limits="x"), "limits must be a plada_codec.Limits"),
    (dict(limits={}), "limits must be a plada_codec.Limits"),
    (dict(threads="x"), "threads"),
    (dict(threads=0), "threads"),
    (dict(threads=True), "threads"),
    (dict(class_names=5), "class_names must be a list"),
    (dict(class_names="ab"), "class_names must be a list"),
    (dict(class_names=b"ab"), "class_names must be a list"),
    (dict(class_names={"a", "b"}), "class_names must be a list"),
    (dict(class_names=[b"a", b"b"]), r"class_names\[0\] must be a str"),
    (dict(codec={"indices": ["x"]}), r"codec\['indices'\] must be"),
    (dict(codec={"labels": 3}), r"codec\['labels'\] must be"),
    (dict(codec={"indices": ""}), r"codec\['indices'\] must be"),
    (dict(codec={1: "auto", "x": "auto"}), "unknown keys"),
])
def test_encode_refuses_bad_arguments_with_encode_error(kwargs, word):
    with pytest.raises(EncodeError, match=word):
        plada_codec.encode([1, 2], [0, 1], **E, **kwargs)


def test_encode_refuses_ragged_indices():
    with pytest.raises(EncodeError, match="indices must be a one-dimensional"):
        plada_codec.encode([[1], [2, 3]], [0, 1], **E)
    with pytest.raises(EncodeError, match="labels must be a one-dimensional"):
        plada_codec.encode([1, 2], [[0], [0, 1]], **E)


def test_class_names_from_a_tuple_or_array_round_trip():
    for names in (("cat", "dog"), np.array(["cat", "dog"])):
        blob = plada_codec.encode([1, 2], [0, 1], **E, class_names=names)
        assert plada_codec.decode(blob).class_names == ["cat", "dog"]


# ------------------------------------------------------------------------------- codec choices per section

def test_auto_and_fast_are_per_section_choices():
    auto = plada_codec.encode([1, 2, 5], [0, 1, 1], **E)
    assert plada_codec.encode([1, 2, 5], [0, 1, 1], **E, codec={"indices": "auto", "labels": "auto"}) == auto
    assert plada_codec.encode([1, 2, 5], [0, 1, 1], **E, codec={"indices": None}) == auto
    fast = plada_codec.decode(plada_codec.encode([1, 2, 5], [0, 1, 1], **E, codec={"indices": "fast",
                                                                                     "labels": "auto"}))
    assert fast.indices.tolist() == [1, 2, 5]


def test_unknown_codec_lists_only_the_codecs_of_that_section():
    with pytest.raises(EncodeError) as info:
        plada_codec.encode([1], [0], **E, codec={"indices": "nope"})
    msg = str(info.value)
    assert "'nope'" in msg and "'auto'" in msg and "'fast'" in msg and "rice-gaps" in msg
    assert "zstd" not in msg and "raw" not in msg and "rans-labels" not in msg
    with pytest.raises(EncodeError) as info:
        plada_codec.encode([1], [0], **E, codec={"labels": "rice-gaps"})
    assert "rans-labels" in str(info.value) and "zstd" not in str(info.value)
    with pytest.raises(EncodeError) as info:
        plada_codec.encode([1], [0], **E, codec="nope")
    assert "'packed'" in str(info.value) and "zstd" not in str(info.value)


def test_encode_docstring_promises_no_joint_codec():
    assert "joint codec name" not in plada_codec.encode.__doc__


# --------------------------------------------------------------------------------------------- limits

@pytest.mark.parametrize("value, error", [("x", TypeError), (None, TypeError), (1.5, TypeError),
                                          (True, TypeError), (-1, ValueError)])
def test_limits_refuse_bad_values_naming_the_field(value, error):
    with pytest.raises(error, match="max_kept"):
        Limits(max_kept=value)


def test_limits_accept_numpy_ints_as_ints(blob):
    limits = Limits(max_kept=np.int64(5))
    assert type(limits.max_kept) is int and limits.max_kept == 5
    assert plada_codec.decode(blob, limits=limits).indices.tolist() == [1, 2]


@pytest.mark.parametrize("bad", ["x", {"max_kept": 1}, 0])
def test_inspect_and_load_refuse_limits_of_the_wrong_type(blob, tmp_path, bad):
    path = tmp_path / "t.pld"
    path.write_bytes(blob)
    for call in (lambda: plada_codec.inspect(blob, limits=bad), lambda: plada_codec.load(path, limits=bad),
                 lambda: plada_codec.decode(blob, limits=bad)):
        with pytest.raises(DecodeError, match="limits must be a plada_codec.Limits"):
            call()


# ------------------------------------------------------------------------------------------ save / load

def test_save_and_load_refuse_non_paths(blob):
    with pytest.raises(EncodeError, match="save expects a file path"):
        plada_codec.save(None, [1], [0], **E)
    for bad in (None, 12345, 0):  # an int would otherwise be read as a file descriptor (0: stdin)
        with pytest.raises(DecodeError, match="load expects a file path"):
            plada_codec.load(bad)
    with pytest.raises(DecodeError, match=r"plada_codec\.decode"):
        plada_codec.load(blob)


def test_save_to_a_folder_fails_cleanly(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match="out"):
        plada_codec.save(target, [1], [0], **E)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and not any(target.iterdir())


def test_save_into_a_missing_folder_fails_cleanly(tmp_path):
    target = tmp_path / "missing" / "t.pld"
    with pytest.raises(FileNotFoundError, match=r"cannot write .*missing.* does not exist"):
        plada_codec.save(target, [1], [0], **E)
    assert list(tmp_path.iterdir()) == []


def test_save_failing_mid_write_leaves_no_temp_file(tmp_path, monkeypatch):
    import os as os_module
    target = tmp_path / "t.pld"

    def no_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os_module, "replace", no_replace)
    with pytest.raises(PermissionError, match="t.pld"):
        plada_codec.save(target, [1], [0], **E)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    assert plada_codec.save(str(target).encode(), [1], [0], **E) > 0  # bytes paths work too
    assert plada_codec.load(target).indices.tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.pld"]


# --------------------------------------------------------------------------------------- package surface

def test_pool_module_reachable_after_import_without_torch_or_numba():
    code = ("import sys, plada_codec; assert 'plada_codec.pool' not in sys.modules; "
            "assert plada_codec.pool.Pool.from_folder; "
            "assert not {'torch', 'numba'} & {m.split('.')[0] for m in sys.modules}, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)
