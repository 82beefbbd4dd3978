"""The core CLI through ``plada_codec.cli.main(argv)``: inspect, verify, encode, decode, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import plada_codec
from plada_codec.bounds import order0_bound_bits
from plada_codec.cli import EXIT_FORMAT, EXIT_INPUT, EXIT_OK, EXIT_POOL, EXIT_USAGE, main
from plada_codec.pool import Pool


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def payload(tmp_path):
    rng = np.random.default_rng(3)
    idx = np.sort(rng.choice(50_000, 2000, replace=False))
    lab = rng.integers(0, 10, 2000)
    path = tmp_path / "p.pld"
    plada_codec.save(path, idx, lab, pool_size=50_000, num_classes=10, meta={"rule": "energy"})
    return path, idx, lab


def make_pool(tmp_path, name, files):
    """A pool folder with empty image files (the identity depends on names only)."""
    root = tmp_path / name
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_bytes(b"")
    return Pool.from_folder(root, cache=False), root


def test_help_exits_zero(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == EXIT_OK and "inspect" in out and "exit codes" in out
    for cmd in ("inspect", "verify", "encode", "decode"):
        code, out, _ = run([cmd, "--help"], capsys)
        assert code == EXIT_OK and "usage" in out.lower(), cmd


@pytest.mark.parametrize("argv", [[], ["no-such-command"], ["inspect"], ["encode", "x.npz"],
                                  ["inspect", "a", "--bogus"]])
def test_usage_errors_exit_2(argv, capsys):
    code, _, _ = run(argv, capsys)
    assert code == EXIT_USAGE


def test_inspect_text(payload, capsys):
    path, idx, lab = payload
    code, out, _ = run(["inspect", path], capsys)
    assert code == EXIT_OK
    info = plada_codec.inspect(path.read_bytes())
    for s in info["sections"]:
        assert s["codec"] in out and str(s["encoded_bytes"]) in out
    assert "N=50000" in out and "k=2000" in out and "C=10" in out
    assert "bits per kept image" in out and f"{info['bits_per_kept']:.3f}" in out
    assert "order-0 bound" in out and "ratio to bound" in out
    assert "energy" in out


def test_inspect_json(payload, capsys):
    path, idx, lab = payload
    code, out, _ = run(["inspect", path, "--json"], capsys)
    assert code == EXIT_OK
    info = json.loads(out)
    total = path.stat().st_size
    assert info["total_bytes"] == total and info["kept"] == 2000 and info["pool_size"] == 50_000
    assert info["version"] == "1.0" and info["pool"] is None
    assert [s["type"] for s in info["sections"]] == ["indices", "labels", "meta"]
    assert sum(s["encoded_bytes"] for s in info["sections"]) + info["overhead_bytes"] == total
    assert info["bits_per_kept"] == pytest.approx(8 * total / 2000)
    assert info["bits_per_pool_image"] == pytest.approx(8 * total / 50_000)
    bound = order0_bound_bits(50_000, np.bincount(lab, minlength=10))
    assert info["order0_bound_bits"] == pytest.approx(bound)
    assert info["ratio_to_bound"] == pytest.approx(8 * total / bound)
    assert 1.0 < info["ratio_to_bound"] < 1.2  # random input: close to the bound, never below it
    code, out, _ = run(["inspect", path, "--json", "--no-decode"], capsys)
    assert code == EXIT_OK and "order0_bound_bits" not in json.loads(out)


def test_inspect_k0_has_no_bits_per_kept(tmp_path, capsys):
    path = tmp_path / "e.pld"
    plada_codec.save(path, [], [], pool_size=5, num_classes=2)
    code, out, _ = run(["inspect", path, "--json"], capsys)
    assert code == EXIT_OK and json.loads(out)["bits_per_kept"] is None
    code, out, _ = run(["inspect", path], capsys)
    assert code == EXIT_OK and "n/a" in out


def test_verify_ok_and_corrupt(payload, tmp_path, capsys):
    path, _, _ = payload
    code, out, _ = run(["verify", path], capsys)
    assert code == EXIT_OK and out.startswith("OK")
    blob = bytearray(path.read_bytes())
    blob[40] ^= 0x10
    bad = tmp_path / "bad.pld"
    bad.write_bytes(bytes(blob))
    code, _, err = run(["verify", bad], capsys)
    assert code == EXIT_FORMAT and "CorruptPayload" in err and "Traceback" not in err
    bad.write_bytes(path.read_bytes()[:-5])
    code, _, err = run(["verify", bad], capsys)
    assert code == EXIT_FORMAT and "TruncatedPayload" in err
    for cmd in (["inspect", bad], ["decode", bad, "-o", tmp_path / "x.csv"]):
        assert run(cmd, capsys)[0] == EXIT_FORMAT


def test_verify_pool_mismatch_names_both_pools(tmp_path, capsys):
    pool_a, root_a = make_pool(tmp_path, "pool-alpha", ["cat/1.png", "cat/2.png", "dog/1.png", "dog/2.jpg"])
    pool_b, root_b = make_pool(tmp_path, "pool-beta", ["cat/1.png", "cat/2.png", "dog/1.png", "dog/3.jpg"])
    assert pool_a.identity.sha256 != pool_b.identity.sha256
    path = tmp_path / "a.pld"
    plada_codec.save(path, [0, 3], [0, 1], pool_size=4, num_classes=2, pool=pool_a)
    code, out, _ = run(["verify", path, "--pool", root_a], capsys)
    assert code == EXIT_OK and "pool-alpha" in out
    code, _, err = run(["verify", path, "--pool", root_b], capsys)
    assert code == EXIT_POOL
    assert "pool-alpha" in err and "pool-beta" in err
    # a manifest file instead of a folder
    manifest = tmp_path / "beta-manifest.txt"
    pool_b.write_manifest(manifest)
    code, _, err = run(["verify", path, "--pool", manifest, "--pool-root", root_b], capsys)
    assert code == EXIT_POOL and "pool-alpha" in err
    code, _, err = run(["decode", path, "-o", tmp_path / "o.csv", "--pool", root_b], capsys)
    assert code == EXIT_POOL
    code, _, err = run(["verify", path, "--pool", tmp_path / "no-such-pool"], capsys)
    assert code == EXIT_POOL


def test_verify_in_memory_pool_mismatch(tmp_path, capsys):
    imgs = np.zeros((3, 4, 4), np.uint8)
    a = Pool.from_arrays(imgs, ["c/0.png", "c/1.png", "d/0.png"], name="mem-a")
    b = Pool.from_arrays(imgs, ["c/0.png", "c/1.png", "e/0.png"], name="mem-b")
    blob = plada_codec.encode([2], [0], pool_size=3, num_classes=1, pool=a)
    with pytest.raises(plada_codec.PoolMismatch, match="mem-a.*mem-b"):
        plada_codec.decode(blob, pool=b)
    assert plada_codec.decode(blob, pool=a).pool == a.identity


def test_encode_decode_npz(tmp_path, capsys):
    rng = np.random.default_rng(9)
    idx = rng.choice(10_000, 500, replace=False).astype(np.uint32)  # unsorted on purpose
    lab = rng.integers(0, 4, 500).astype(np.uint16)
    src = tmp_path / "in.npz"
    np.savez(src, indices=idx, labels=lab, pool_size=10_000, num_classes=4,
             class_names=np.array(["a", "b", "c", "d"]))
    out = tmp_path / "o.pld"
    code, msg, _ = run(["encode", src, "-o", out, "--meta", '{"keep": 0.05}'], capsys)
    assert code == EXIT_OK and "k=500" in msg
    p = plada_codec.load(out)
    order = np.argsort(idx)
    assert p.indices.tolist() == idx[order].tolist() and p.labels.tolist() == lab[order].tolist()
    assert p.class_names == ["a", "b", "c", "d"] and p.meta == {"keep": 0.05}
    back = tmp_path / "back.npz"
    assert run(["decode", out, "-o", back], capsys)[0] == EXIT_OK
    with np.load(back) as z:
        assert z["indices"].tolist() == p.indices.tolist() and z["labels"].tolist() == p.labels.tolist()
        assert int(z["pool_size"]) == 10_000 and int(z["num_classes"]) == 4
        assert z["class_names"].tolist() == ["a", "b", "c", "d"]


def test_encode_decode_csv(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("index,label\n7,2\n3,0\n8,2\n", encoding="utf-8")
    out = tmp_path / "o.pld"
    code, _, _ = run(["encode", src, "-o", out, "--pool-size", 10, "--num-classes", 3,
                      "--codec", "packed-delta,packed-labels"], capsys)
    assert code == EXIT_OK
    assert out.read_bytes() == (plada_codec.encode([3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3,
                                                   codec="packed"))
    back = tmp_path / "back.csv"
    assert run(["decode", out, "-o", back], capsys)[0] == EXIT_OK
    assert back.read_text(encoding="utf-8") == "index,label\n3,0\n7,2\n8,2\n"
    fast = tmp_path / "f.pld"
    assert run(["encode", src, "-o", fast, "--pool-size", 10, "--num-classes", 3, "--codec", "fast"],
               capsys)[0] == EXIT_OK
    assert fast.read_bytes() == plada_codec.encode([3, 7, 8], [0, 2, 2], pool_size=10, num_classes=3, codec="fast")
    # headerless CSV and a class-names file
    src.write_text("1,0\n4,1\n", encoding="utf-8")
    names = tmp_path / "names.txt"
    names.write_text("zero\none\n", encoding="utf-8")
    code, _, _ = run(["encode", src, "-o", out, "--pool-size", 5, "--num-classes", 2, "--class-names", names],
                     capsys)
    assert code == EXIT_OK and plada_codec.load(out).class_names == ["zero", "one"]


def test_encode_records_pool_identity(tmp_path, capsys):
    pool, root = make_pool(tmp_path, "mypool", ["x/1.png", "x/2.png", "y/1.png"])
    src = tmp_path / "in.csv"
    src.write_text("0,1\n2,0\n", encoding="utf-8")
    out = tmp_path / "o.pld"
    code, _, _ = run(["encode", src, "-o", out, "--pool-size", 3, "--num-classes", 2, "--pool", root], capsys)
    assert code == EXIT_OK and plada_codec.load(out).pool == pool.identity


@pytest.mark.parametrize("content, args, expected", [
    ("index,label\n1,5\n", ["--pool-size", 10, "--num-classes", 3], EXIT_INPUT),      # label >= C
    ("index,label\n1,0\n1,1\n", ["--pool-size", 10, "--num-classes", 3], EXIT_INPUT),  # duplicate
    ("index,label\n12,0\n", ["--pool-size", 10, "--num-classes", 3], EXIT_INPUT),     # index >= N
    ("index,label\n1,x\n", ["--pool-size", 10, "--num-classes", 3], EXIT_INPUT),      # not integers
    ("index,label\n1\n", ["--pool-size", 10, "--num-classes", 3], EXIT_INPUT),        # one column
    ("index,label\n1,0\n", [], EXIT_USAGE),                                           # N, C missing
    ("index,label\n1,0\n", ["--pool-size", 10, "--num-classes", 3, "--meta", "{bad"], EXIT_USAGE),
    ("index,label\n1,0\n", ["--pool-size", 10, "--num-classes", 3, "--codec", "nope"], EXIT_USAGE),
])
def test_encode_bad_input(tmp_path, capsys, content, args, expected):
    src = tmp_path / "in.csv"
    src.write_text(content, encoding="utf-8")
    code, _, err = run(["encode", src, "-o", tmp_path / "o.pld", *args], capsys)
    assert code == expected, err
    assert "Traceback" not in err and err.startswith("error")
    assert not (tmp_path / "o.pld").exists()


def test_encode_bad_files(tmp_path, capsys):
    bad_npz = tmp_path / "bad.npz"
    np.savez(bad_npz, something=np.arange(3))
    assert run(["encode", bad_npz, "-o", tmp_path / "o.pld"], capsys)[0] == EXIT_INPUT
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    assert run(["encode", junk, "-o", tmp_path / "o.pld"], capsys)[0] == EXIT_INPUT
    assert run(["encode", tmp_path / "missing.csv", "-o", tmp_path / "o.pld"], capsys)[0] == EXIT_INPUT
    assert run(["inspect", tmp_path / "missing.pld"], capsys)[0] == EXIT_INPUT
    assert run(["verify", tmp_path / "missing.pld"], capsys)[0] == EXIT_INPUT


def test_decode_output_suffix(payload, tmp_path, capsys):
    path, _, _ = payload
    assert run(["decode", path, "-o", tmp_path / "o.txt"], capsys)[0] == EXIT_USAGE


def test_cli_modules_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, plada_codec.cli as c; p = c.build_parser(); "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


VECTORS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "vectors"


def test_cli_on_golden_vectors(capsys):
    expectations = sorted(VECTORS.glob("*.json"))
    assert len(expectations) >= 20
    for js in expectations:
        e = json.loads(js.read_text(encoding="utf-8"))
        pld = js.with_suffix(".pld")
        code, out, err = run(["verify", pld], capsys)
        if e["valid"]:
            assert code == EXIT_OK and f"k={e['kept']}" in out, (js.name, err)
            code, out, _ = run(["inspect", pld, "--json"], capsys)
            assert code == EXIT_OK and json.loads(out)["kept"] == e["kept"]
        else:
            assert code == EXIT_FORMAT and e["error"] in err, (js.name, code, err)
            assert run(["inspect", pld], capsys)[0] == EXIT_FORMAT
    code, out, _ = run(["inspect", VECTORS / "unknown_optional_section.pld"], capsys)
    assert code == EXIT_OK and "skipped sections" in out and "200" in out


def test_encode_refuses_a_csv_that_is_not_index_label(tmp_path, capsys):
    from plada_codec.cli import EXIT_INPUT, main

    src = tmp_path / "notes.csv"
    src.write_text("hello\n")
    rc = main(["encode", str(src), "-o", str(tmp_path / "x.pld"), "--pool-size", "10", "--num-classes", "2"])
    assert rc == EXIT_INPUT
    assert "expected index,label" in capsys.readouterr().err
    assert not (tmp_path / "x.pld").exists()


def test_encode_warns_on_a_csv_without_rows(tmp_path, capsys):
    from plada_codec.cli import main

    src = tmp_path / "empty.csv"
    src.write_text("index,label\n")
    assert main(["encode", str(src), "-o", str(tmp_path / "x.pld"), "--pool-size", "10", "--num-classes", "2"]) == 0
    assert "no index,label rows" in capsys.readouterr().err


# ----------------------------------------------------------------------------------- input and output defects

def leftovers(folder):
    """Files a failed or finished command left behind besides the ones a test made."""
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def encode_csv(tmp_path, capsys, content, *extra):
    src = tmp_path / "in.csv"
    src.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    out = tmp_path / "o.pld"
    code, msg, err = run(["encode", src, "-o", out, "--pool-size", 10, "--num-classes", 3, *extra], capsys)
    assert "Traceback" not in err
    return code, msg, err, out


@pytest.mark.parametrize("content, kept", [
    ("1.5,0\n2,1\n", None),             # a first row that is not an integer is an error, never a header
    ("+3,0\n2,1\n", [2, 3]),            # a signed integer is data
    ("\n\nindex,label\n\n1,0\n\n", [1]),  # blank lines anywhere are skipped, also before the header
    ("\ufeff4,1\n", [4]),               # a byte-order mark does not turn the first row into a header
    (" index , label \n5,2\n", [5]),
])
def test_encode_csv_header_rule(tmp_path, capsys, content, kept):
    code, _, err, out = encode_csv(tmp_path, capsys, content)
    if kept is None:
        assert code == EXIT_INPUT and "in.csv:1" in err and "1.5" in err and not out.exists()
    else:
        assert code == EXIT_OK, err
        assert plada_codec.load(out).indices.tolist() == kept


@pytest.mark.parametrize("content, line, words", [
    ("index,label,score\n1,0,0.9\n", 1, "3 columns"),
    ("1,0,0.9\n", 1, "3 columns"),
    ("1,0\n2,1,7\n", 2, "3 columns"),
    ("1,0\nindex,label\n", 2, "not integers"),
    ("1,0\n99999999999999999999999,0\n", 2, "out of range"),
    ("1,0\n1_0,1\n", 2, "not integers"),
    ("1,0\n2,\n", 2, "not integers"),
])
def test_encode_csv_bad_rows_name_the_line(tmp_path, capsys, content, line, words):
    code, _, err, out = encode_csv(tmp_path, capsys, content)
    assert code == EXIT_INPUT and err.startswith("error: cannot encode: ")
    assert f"in.csv:{line}" in err and words in err and not out.exists()


def test_encode_unreadable_inputs_are_clean_errors(tmp_path, capsys, payload):
    cases = {}
    (tmp_path / "empty.npz").write_bytes(b"")
    cases["empty.npz"] = "empty"
    np.savez(tmp_path / "object.npz", indices=np.array([1, "a"], dtype=object), labels=np.array([0, 1]))
    cases["object.npz"] = "object.npz"
    np.save(tmp_path / "array.npy", np.arange(3))
    (tmp_path / "array.npy").rename(tmp_path / "array.npz")
    cases["array.npz"] = "not a .npz archive"
    (tmp_path / "payload.csv").write_bytes(payload[0].read_bytes())
    cases["payload.csv"] = "not UTF-8 text"
    (tmp_path / "nul.csv").write_bytes(b"1,0\n\x002,1\n")
    cases["nul.csv"] = "nul.csv"
    for name, words in cases.items():
        code, _, err = run(["encode", tmp_path / name, "-o", tmp_path / "o.pld", "--pool-size", 10,
                            "--num-classes", 3], capsys)
        assert code == EXIT_INPUT and "Traceback" not in err, (name, err)
        assert err.startswith("error: cannot encode: ") and name in err and words in err, (name, err)
    assert not (tmp_path / "o.pld").exists() and leftovers(tmp_path) == []


def test_encode_npz_extension_is_case_insensitive(tmp_path, capsys):
    src = tmp_path / "data.NPZ"
    with open(src, "wb") as f:
        np.savez(f, indices=[3, 1], labels=[0, 1], pool_size=5, num_classes=2)
    code, _, err = run(["encode", src, "-o", tmp_path / "o.pld"], capsys)
    assert code == EXIT_OK, err
    assert plada_codec.load(tmp_path / "o.pld").indices.tolist() == [1, 3]


@pytest.mark.parametrize("value, ok", [
    (np.array([10, 11]), False), (np.array("10"), False), (10.7, False), (np.float64("inf"), False),
    (True, False), (10.0, True), (np.uint16(10), True),
])
def test_encode_npz_pool_size_must_be_one_exact_integer(tmp_path, capsys, value, ok):
    src = tmp_path / "in.npz"
    np.savez(src, indices=[1, 2], labels=[0, 1], pool_size=value, num_classes=2)
    code, _, err = run(["encode", src, "-o", tmp_path / "o.pld"], capsys)
    assert "Traceback" not in err
    if ok:
        assert code == EXIT_OK and plada_codec.load(tmp_path / "o.pld").pool_size == 10
    else:
        assert code == EXIT_INPUT and "pool_size" in err and "integer" in err
        assert not (tmp_path / "o.pld").exists()


def test_encode_npz_bytes_class_names(tmp_path, capsys):
    src = tmp_path / "in.npz"
    np.savez(src, indices=[1, 2], labels=[0, 1], pool_size=5, num_classes=2, class_names=np.array([b"cat", b"dog"]))
    assert run(["encode", src, "-o", tmp_path / "o.pld"], capsys)[0] == EXIT_OK
    assert plada_codec.load(tmp_path / "o.pld").class_names == ["cat", "dog"]
    np.savez(src, indices=[1, 2], labels=[0, 1], pool_size=5, num_classes=2, class_names=np.array([b"cat", b"\xff"]))
    code, _, err = run(["encode", src, "-o", tmp_path / "o2.pld"], capsys)
    assert code == EXIT_INPUT and "class_names" in err and "UTF-8" in err and "Traceback" not in err
    np.savez(src, indices=[1, 2], labels=[0, 1], pool_size=5, num_classes=2, class_names=np.array([4, 5]))
    code, _, err = run(["encode", src, "-o", tmp_path / "o2.pld"], capsys)
    assert code == EXIT_INPUT and "class_names" in err and "strings" in err


def test_encode_class_names_file(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_bytes(b"zero\r\none\r\n")
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--num-classes", 2, "--class-names", names)
    assert code == EXIT_OK and plada_codec.load(out).class_names == ["zero", "one"]
    out.unlink()
    names.write_bytes(b"zero\n\none\n")
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--num-classes", 2, "--class-names", names)
    assert code == EXIT_INPUT and "names.txt:2" in err and "blank" in err and not out.exists()
    names.write_bytes(b"zero\n\xffne\n")
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--num-classes", 2, "--class-names", names)
    assert code == EXIT_INPUT and "names.txt" in err and "UTF-8" in err and not out.exists()
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--class-names", tmp_path / "missing.txt")
    assert code == EXIT_INPUT and "missing.txt" in err and not out.exists()


@pytest.mark.parametrize("where", ["dir", "dir.npz", "dir.csv", "no-such-folder/o", ""])
def test_bad_output_paths_are_usage_errors(payload, tmp_path, capsys, monkeypatch, where):
    path, _, _ = payload
    monkeypatch.chdir(tmp_path)  # "-o ''" once left ".tmp" in the working folder
    src = tmp_path / "in.csv"
    src.write_text("1,0\n", encoding="utf-8")
    if where.startswith("dir"):
        (tmp_path / where).mkdir()
    target = str(tmp_path / where) if where else ""
    for argv in (["encode", src, "-o", target + (".pld" if where.startswith("no-such") else ""),
                  "--pool-size", 10, "--num-classes", 3],
                 ["decode", path, "-o", target + (".csv" if where.startswith("no-such") else "")]):
        code, _, err = run(argv, capsys)
        assert code == EXIT_USAGE and "Traceback" not in err, (argv, err)
        assert err.startswith("error: ") and "--output" in err and ".tmp" not in err, err
    assert leftovers(tmp_path) == []
    if where.startswith("dir"):
        assert list((tmp_path / where).iterdir()) == []


def test_failed_write_leaves_no_temp_file(payload, tmp_path, capsys, monkeypatch):
    path, _, _ = payload

    def broken_savez(*args, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    code, _, err = run(["decode", path, "-o", tmp_path / "back.npz"], capsys)
    assert code == EXIT_INPUT and "back.npz" in err and "No space left" in err and ".tmp" not in err
    assert not (tmp_path / "back.npz").exists() and leftovers(tmp_path) == []


def test_encode_takes_pool_size_from_pool(tmp_path, capsys):
    pool, root = make_pool(tmp_path, "p", ["a/1.png", "a/2.png", "b/1.png"])
    src = tmp_path / "in.npz"
    np.savez(src, indices=[0, 2], labels=[1, 0], num_classes=2)
    out = tmp_path / "o.pld"
    code, msg, err = run(["encode", src, "-o", out, "--pool", root], capsys)
    assert code == EXIT_OK and "N=3" in msg, err
    p = plada_codec.load(out)
    assert p.pool_size == 3 and p.pool == pool.identity
    code, _, err = run(["encode", src, "-o", out, "--pool", root, "--pool-size", 4], capsys)
    assert code == EXIT_INPUT and "pool_size is 4" in err
    np.savez(src, indices=[0, 2], labels=[1, 0])
    code, _, err = run(["encode", src, "-o", out, "--pool", root], capsys)
    assert code == EXIT_USAGE and "--num-classes" in err and "--pool-size" not in err


@pytest.mark.parametrize("codec, words, absent", [
    ("rice-gaps", ["INDEX_CODEC,LABEL_CODEC"], ["mapping", "{"]),
    ("packed-labels,rice-gaps", ["INDEX_CODEC,LABEL_CODEC"], ["mapping"]),
    ("nope", ["packed-delta", "packed-labels", "fast"], ["raw", "zstd"]),
    ("raw,packed-labels", ["packed-delta"], ["zstd"]),
    ("adaptive-gaps-grouped,", ["--pool"], ["pool="]),
])
def test_encode_codec_messages_speak_cli(tmp_path, capsys, codec, words, absent):
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--codec", codec)
    assert code == EXIT_USAGE and not out.exists()
    for w in words:
        assert w in err, err
    for w in absent:
        assert w not in err, err


def test_codec_help_names_no_joint_codec(capsys):
    code, out, _ = run(["encode", "--help"], capsys)
    assert code == EXIT_OK and "joint" not in out and "INDEX_CODEC,LABEL_CODEC" in out


def test_pool_hint_names_the_option(tmp_path, capsys):
    pool, root = make_pool(tmp_path, "grp", ["a/1.png", "a/2.png", "b/1.png", "b/2.png"])
    path = tmp_path / "g.pld"
    plada_codec.save(path, [0, 3], [0, 1], pool_size=4, num_classes=2, pool=pool,
                     codec={"indices": "adaptive-gaps-grouped", "labels": "packed-labels"})
    for argv in (["verify", path], ["decode", path, "-o", tmp_path / "o.csv"]):
        code, _, err = run(argv, capsys)
        assert code == EXIT_POOL and "--pool" in err and "pool=" not in err and "grp" in err, err
    assert run(["verify", path, "--pool", root], capsys)[0] == EXIT_OK


def test_pool_root_without_pool_is_a_usage_error(payload, tmp_path, capsys):
    path, _, _ = payload
    for argv in (["verify", path], ["inspect", path], ["decode", path, "-o", tmp_path / "o.csv"],
                 ["encode", path, "-o", tmp_path / "o.pld"]):
        code, _, err = run([*argv, "--pool-root", tmp_path], capsys)
        assert code == EXIT_USAGE and "--pool-root" in err and "--pool" in err, (argv, err)
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.pld").exists()


@pytest.mark.parametrize("meta", ["[1,2]", "3", '"text"', "{bad"])
def test_meta_must_be_a_json_object(tmp_path, capsys, meta):
    code, _, err, out = encode_csv(tmp_path, capsys, "1,0\n", "--meta", meta)
    assert code == EXIT_USAGE and "--meta" in err and not out.exists()


def test_payload_positionals_have_help(capsys):
    for cmd in ("verify", "decode"):
        code, out, _ = run([cmd, "--help"], capsys)
        assert code == EXIT_OK and "path of a .pld file" in out, cmd


def test_inspect_prints_a_small_bound_in_bits(tmp_path, capsys):
    path = tmp_path / "s.pld"
    plada_codec.save(path, [1], [0], pool_size=10, num_classes=2)  # bound log2(10) = 3.32 bits
    code, out, _ = run(["inspect", path], capsys)
    line = next(x for x in out.splitlines() if "order-0 bound" in x)
    assert code == EXIT_OK and "3.3 bits" in line and "0 bytes" not in line


def test_empty_payload_is_truncated(tmp_path, capsys):
    empty = tmp_path / "empty.pld"
    empty.write_bytes(b"")
    for argv in (["verify", empty], ["inspect", empty], ["decode", empty, "-o", tmp_path / "o.csv"]):
        code, _, err = run(argv, capsys)
        assert code == EXIT_FORMAT and "TruncatedPayload" in err and "0 bytes" in err, err


def test_help_works_without_the_plugins_optional_dependencies():
    """A numpy-only installation (no pillow, no torch): --help lists the core commands and names what the
    missing plugins need instead of failing with ModuleNotFoundError."""
    code = ("import sys; sys.modules['PIL'] = None; sys.modules['torch'] = None\n"
            "from plada_codec.cli import main\n"
            "sys.exit(main(['--help']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "decode" in r.stdout and "data commands: need PIL" in r.stdout
    assert "not available in this installation" in r.stdout
