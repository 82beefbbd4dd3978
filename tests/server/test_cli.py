"""The server commands end to end on a tiny folder task: teacher -> score -> merge -> select -> inspect."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import plada_codec  # noqa: E402
from plada_codec.cli import EXIT_POOL, main  # noqa: E402
from plada_codec.pool import Pool  # noqa: E402

torch.set_num_threads(1)

FAST = ["--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def scored(task_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    assert main(["teacher", str(task_dirs["train"]), "-o", str(out / "t.pt"), "--epochs", "3", "--image-size", "16",
                 "--batch-size", "8", *FAST]) == 0
    assert main(["score", "--teacher", str(out / "t.pt"), "--pool", str(task_dirs["pool"]), "--out", str(out / "s"),
                 "--chunk-size", "32", *FAST]) == 0
    assert main(["merge", str(out / "s"), "-o", str(out / "scores.npz"), "--pool", str(task_dirs["pool"])]) == 0
    return out


def test_select_writes_a_payload_inspect_describes(scored, task_dirs, capsys):
    out = scored
    capsys.readouterr()
    assert main(["select", str(out / "scores.npz"), "--pool", str(task_dirs["pool"]), "--fraction", "0.25",
                 "--safety-net", "-o", str(out / "task.pld"), "--meta", '{"task": "colours"}']) == 0
    line = capsys.readouterr().out
    assert "k=20" in line and "bytes" in line and "bits per kept image" in line
    pool = Pool.from_folder(task_dirs["pool"])
    p = plada_codec.load(out / "task.pld", pool=pool)
    assert len(p.indices) == 20 and p.class_names == ["blue", "green", "red"]
    sel = p.meta["selection"]
    assert sel["rule"] == "low-energy" and sel["safety_net"] == {"share": 0.5, "alpha": -0.2} and p.meta["task"] == "colours"
    # the lead's inspect describes it, selection metadata included
    r = subprocess.run([sys.executable, "-m", "plada_codec", "inspect", str(out / "task.pld"), "--json",
                        "--pool", str(task_dirs["pool"])],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["kept"] == 20 and info["meta"]["selection"]["k"] == 20
    assert info["pool"]["name"] == "pool"


def test_colour_pool_images_get_their_colour(scored, task_dirs):
    """Planted structure end to end: the teacher labels the pool's colour folders with their colours."""
    from plada_codec.server.scoring import load_scores

    pool = Pool.from_folder(task_dirs["pool"])
    s = load_scores(scored / "scores.npz", pool)
    folders = pool.group_names
    starts = np.concatenate([[0], np.cumsum(pool.group_sizes)[:-1]])
    for name, a, n in zip(folders, starts, pool.group_sizes):
        if name != "zz-noise":
            majority = np.bincount(s.label[a:a + n], minlength=3).argmax()
            assert ["blue", "green", "red"][majority] + "s" == name


def test_max_bytes_and_other_pool(scored, task_dirs, tmp_path, capsys):
    from plada_codec.server.scoring import load_scores
    from plada_codec.server.selection import Planner

    pool = Pool.from_folder(task_dirs["pool"])
    planner = Planner(load_scores(scored / "scores.npz", pool), "entropy", budget={"max_bytes": 999}, pool=pool)
    planner.selection_meta["search"] = {"probe": 8}
    limit = (planner.size(1) + planner.size(len(pool))) // 2  # between one image and the whole pool
    capsys.readouterr()
    assert main(["select", str(scored / "scores.npz"), "--pool", str(task_dirs["pool"]), "--max-bytes", str(limit),
                 "--rule", "entropy", "-o", str(tmp_path / "b.pld")]) == 0
    assert "k+1 would need" in capsys.readouterr().out
    assert (tmp_path / "b.pld").stat().st_size <= limit
    assert plada_codec.load(tmp_path / "b.pld", pool=pool).meta["selection"]["budget"] == {"max_bytes": limit}
    # the payload applied to a different pool fails, naming both
    other = tmp_path / "otherpool"
    (other / "x").mkdir(parents=True)
    for i in range(80):
        (other / "x" / f"{i:03d}.png").write_bytes(b"")
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "b.pld"), "--pool", str(other)]) == EXIT_POOL
    err = capsys.readouterr().err
    assert "pool" in err and "otherpool" in err
    # scores of one pool, selection against another
    assert main(["select", str(scored / "scores.npz"), "--pool", str(other), "--count", "5",
                 "-o", str(tmp_path / "c.pld")]) == EXIT_POOL


def test_auto_reads_only_the_heldout_training_images(scored, task_dirs, tmp_path, monkeypatch, capsys):
    read = []
    real = Pool.load_image

    def spy(self, i, min_size=None):
        read.append(str(self.file_path(i)))
        return real(self, i, min_size)

    monkeypatch.setattr(Pool, "load_image", spy)
    assert main(["select", str(scored / "scores.npz"), "--pool", str(task_dirs["pool"]), "--fraction", "0.3",
                 "--rule", "auto", "--teacher", str(scored / "t.pt"), "--proxy-epochs", "1", "-o",
                 str(tmp_path / "auto.pld"), *FAST]) == 0
    assert "auto chose" in capsys.readouterr().out
    test_root, train_root = str(task_dirs["test"]), str(task_dirs["train"])
    assert read and not [p for p in read if p.startswith(test_root)]
    from plada_codec.server.teacher import load_teacher

    teacher = load_teacher(scored / "t.pt")
    target = Pool.from_folder(train_root, cache=False)
    heldout = {target.file_path(i) for i in teacher.val_indices}
    assert {p for p in read if p.startswith(train_root)} == heldout  # never the teacher's training part
    meta = plada_codec.load(tmp_path / "auto.pld", pool=Pool.from_folder(task_dirs["pool"])).meta["selection"]
    auto = meta["auto"]
    assert len(auto["candidates"]) == 4 and all(0 <= c["val_acc"] <= 1 for c in auto["candidates"])
    assert auto["chosen"]["rule"] == meta["rule"] and auto["heldout"]["images"] == len(heldout)
    chosen = [c for c in auto["candidates"]
              if (c["rule"], c["safety_net"]) == (auto["chosen"]["rule"], auto["chosen"]["safety_net"])]
    assert chosen[0]["val_acc"] == max(c["val_acc"] for c in auto["candidates"])
    assert meta["safety_net"] == auto["chosen"]["safety_net"]


def test_help_explains_each_command(capsys):
    for cmd in ("teacher", "score", "merge", "select"):
        assert main([cmd, "--help"]) == 0
        text = capsys.readouterr().out
        assert "workflow" in text
    assert main(["select", "scores.npz", "-o", "x.pld"]) == 2  # a budget is required


def test_commands_module_does_not_import_torch():
    code = ("import sys, plada_codec.server.commands, plada_codec.cli as c; c.build_parser(); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr


# --------------------------------------------------------------------------- bad input: clean errors


def run(argv, capsys):
    """main(argv) -> (exit code, stderr, stdout); a traceback would escape main() and fail the test."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.err, out.out


def other_teacher(scored, path):
    """The scoring teacher with one weight changed: another teacher id, same training record."""
    from plada_codec.server.teacher import load_teacher

    t = load_teacher(scored / "t.pt")
    with torch.no_grad():
        next(t.model.parameters()).add_(1.0)
    t.save(path)
    return t.teacher_id


def test_auto_refuses_a_teacher_that_did_not_make_the_scores(scored, task_dirs, tmp_path, capsys):
    other = other_teacher(scored, tmp_path / "other.pt")
    from plada_codec.server.scoring import load_scores

    made_by = load_scores(scored / "scores.npz").teacher_id
    assert other != made_by
    code, err, _ = run(["select", scored / "scores.npz", "--pool", task_dirs["pool"], "--count", 10, "--rule", "auto",
                        "--teacher", tmp_path / "other.pt", "-o", tmp_path / "a.pld", *FAST], capsys)
    assert code == 2 and other in err and made_by in err
    assert not (tmp_path / "a.pld").exists()


def test_files_that_are_not_teachers_or_scores_are_input_errors(scored, task_dirs, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hi\n")
    plada_codec.save(tmp_path / "p.pld", [1, 2], [0, 1], pool_size=4, num_classes=2)
    for bad in ("notes.txt", "p.pld"):
        code, err, _ = run(["score", "--teacher", tmp_path / bad, "--pool", task_dirs["pool"], "--out",
                            tmp_path / "out", *FAST], capsys)
        assert code == 5 and f"{bad} is not a teacher file (written by `teacher`)" in err
    code, err, _ = run(["score", "--teacher", tmp_path / "nope.pt", "--pool", task_dirs["pool"], "--out",
                        tmp_path / "out", *FAST], capsys)
    assert code == 5 and "nope.pt does not exist" in err
    assert not (tmp_path / "out").exists()
    for cmd in (["merge", tmp_path / "notes.txt", "-o", tmp_path / "m.npz"],
                ["select", tmp_path / "notes.txt", "--count", 3, "-o", tmp_path / "s.pld"]):
        code, err, _ = run(cmd, capsys)
        assert code == 5 and "notes.txt is not a score file (written by score/merge)" in err
    for cmd in (["merge", tmp_path / "nope.npz", "-o", tmp_path / "m.npz"],
                ["select", tmp_path / "nope.npz", "--count", 3, "-o", tmp_path / "s.pld"]):
        code, err, _ = run(cmd, capsys)
        assert code == 5 and "nope.npz does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "p.pld"]


def _usage_cases():
    """(command, arguments, what the message names); T, P, S, O stand for the teacher file, pool, scores and
    a fresh output folder."""
    score = ["score", "--teacher", "T", "--pool", "P", "--out", "O/out"]
    select = ["select", "S", "-o", "O/s.pld"]
    teacher = ["teacher", "TRAIN", "-o", "O/t.pt", "--epochs", "1"]
    return [
        (score + ["--workers", "-1"], "--workers"),
        (score + ["--threads", "-1"], "--threads"),
        (score + ["--chunk-size", "0"], "--chunk-size"),
        (score + ["--batch-size", "0"], "--batch-size"),
        (score + ["--temperature", "0"], "--temperature"),
        (score + ["--temperature", "nan"], "--temperature"),
        (score + ["--shard", "3/2"], "--shard"),
        (score + ["--merge-to", "O/nodir/m.npz"], "--merge-to"),
        (teacher[:-2] + ["--epochs", "0"], "--epochs"),
        (teacher + ["--batch-size", "0"], "--batch-size"),
        (teacher + ["--arch", "nope"], "--arch nope"),
        (teacher + ["--val-fraction", "1"], "--val-fraction"),
        (["teacher", "TRAIN", "-o", "O/nodir/t.pt", "--epochs", "1"], "does not exist"),
        (["teacher", "TRAIN", "-o", "O", "--epochs", "1"], "is a folder"),
        (["merge", "S", "-o", "O/nodir/m.npz"], "folder"),
        (["merge", "S", "-o", "O/m.npz", "--pool-name", "x"], "--pool-name"),
        (select + ["--fraction", "0"], "--fraction"),
        (select + ["--fraction", "1.5"], "--fraction"),
        (select + ["--count", "0"], "--count"),
        (select + ["--count", "100000"], "the pool has 80 images"),
        (select + ["--count", "5", "--safety-net", "--share", "2"], "share"),
        (select + ["--count", "5", "--safety-net", "--alpha", "nan"], "alpha"),
        (select + ["--count", "5", "--share", "0.3"], "--share needs --safety-net"),
        (select + ["--count", "5", "--alpha", "0"], "--alpha needs --safety-net"),
        (select + ["--count", "5", "--pool-name", "x"], "--pool-name"),
        (select + ["--count", "5", "--rule", "unknown"], "unknown rule"),
        (select + ["--count", "5", "--meta", "notjson"], "--meta is not JSON"),
        (select + ["--count", "5", "--meta", '{"selection": 1}'], "reserved keys: selection"),
        (select + ["--count", "5", "--threads", "1"], "only --rule auto uses it"),
        (select + ["--count", "5", "--teacher", "T"], "only --rule auto uses it"),
        (select + ["--count", "5", "--rule", "auto", "--pool", "P", "--teacher", "T", "--proxy-epochs", "0"],
         "--proxy-epochs"),
        (select + ["--count", "5", "--rule", "auto", "--pool", "P", "--teacher", "T", "--safety-net"],
         "drop --safety-net"),
        (["select", "S", "-o", "O/nodir/s.pld", "--count", "5"], "folder"),
    ]


@pytest.mark.parametrize("argv,names", _usage_cases())
def test_bad_options_are_usage_errors_before_any_work(argv, names, scored, task_dirs, tmp_path, capsys):
    where = {"T": scored / "t.pt", "P": task_dirs["pool"], "S": scored / "scores.npz", "TRAIN": task_dirs["train"]}
    argv = [where.get(a, a.replace("O", str(tmp_path), 1) if a.startswith("O") else a) for a in argv]
    torch_options = argv[0] in ("teacher", "score") or "auto" in argv  # select uses them with --rule auto only
    code, err, _ = run(argv + (FAST if torch_options else []), capsys)
    assert code == 2 and names in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written, no empty --out folder, no temporary file


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_unavailable_device_is_refused_before_anything_is_written(scored, task_dirs, tmp_path, capsys):
    for argv in (["score", "--teacher", scored / "t.pt", "--pool", task_dirs["pool"], "--out", tmp_path / "out"],
                 ["teacher", task_dirs["train"], "-o", tmp_path / "t.pt", "--epochs", "1"],
                 ["select", scored / "scores.npz", "--pool", task_dirs["pool"], "--count", 5, "--rule", "auto",
                  "--teacher", scored / "t.pt", "-o", tmp_path / "a.pld"]):
        code, err, _ = run(argv + ["--device", "cuda", *FAST], capsys)
        assert code == 2 and "no CUDA device" in err
    assert list(tmp_path.iterdir()) == []


def test_score_out_that_is_a_file(scored, task_dirs, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hi\n")
    code, err, _ = run(["score", "--teacher", scored / "t.pt", "--pool", task_dirs["pool"],
                        "--out", tmp_path / "notes.txt", *FAST], capsys)
    assert code == 2 and "notes.txt is a file; give a folder" in err


def test_merge_output_in_a_missing_folder_names_it_not_a_temporary_file(scored, tmp_path, capsys):
    code, err, _ = run(["merge", scored / "s", "-o", tmp_path / "nodir" / "m.npz"], capsys)
    assert code == 2 and str(tmp_path / "nodir") in err and ".tmp" not in err


def test_training_folder_problems_are_input_errors_not_pool_errors(scored, task_dirs, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder, says in (("nodir", "does not exist"), ("empty", "no images")):
        code, err, _ = run(["teacher", tmp_path / folder, "-o", tmp_path / "t.pt", *FAST], capsys)
        assert code == 5 and f"training folder {tmp_path / folder}" in err and says in err and "pool:" not in err
    code, err, _ = run(["select", scored / "scores.npz", "--pool", task_dirs["pool"], "--count", 5, "--rule", "auto",
                        "--teacher", scored / "t.pt", "--target-train", tmp_path / "nodir", "-o",
                        tmp_path / "a.pld", *FAST], capsys)
    assert code == 5 and "target training folder" in err and "does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_select_codec_takes_the_forms_encode_takes(scored, task_dirs, tmp_path, capsys):
    args = ["select", scored / "scores.npz", "--count", 20, "-o", tmp_path / "c.pld"]
    code, err, _ = run(args + ["--codec", "rice-gaps,packed-labels"], capsys)
    assert code == 0, err
    codecs = [s["codec"] for s in plada_codec.inspect((tmp_path / "c.pld").read_bytes())["sections"]]
    assert codecs[:2] == ["rice-gaps", "packed-labels"]
    code, err, _ = run(args + ["--pool", task_dirs["pool"], "--codec", "adaptive-gaps-grouped,"], capsys)
    assert code == 0, err
    assert plada_codec.inspect((tmp_path / "c.pld").read_bytes())["sections"][0]["codec"] == "adaptive-gaps-grouped"
    code, err, _ = run(args + ["--codec", "adaptive-gaps-grouped,"], capsys)  # folder-aware: needs --pool
    assert code == 2 and "--pool" in err and "mapping" not in err


def test_score_merge_to_prints_the_merge_summary(scored, task_dirs, tmp_path, capsys):
    code, err, out = run(["score", "--teacher", scored / "t.pt", "--pool", task_dirs["pool"], "--out", tmp_path / "s",
                          "--chunk-size", 32, "--merge-to", tmp_path / "a.npz", *FAST], capsys)
    assert code == 0, err
    merged_by_score = out.splitlines()[-1]
    code, err, out = run(["merge", tmp_path / "s", "-o", tmp_path / "b.npz", "--pool", task_dirs["pool"]], capsys)
    assert code == 0, err
    assert merged_by_score.replace("a.npz", "b.npz") == out.splitlines()[-1]
    assert "pool images per predicted class" in merged_by_score


def test_teacher_without_a_held_out_split_logs_no_val(task_dirs, tmp_path, capsys):
    code, err, out = run(["teacher", task_dirs["train"], "-o", tmp_path / "t.pt", "--epochs", 1, "--image-size", 16,
                          "--val-fraction", 0, "--threads", 1], capsys)
    assert code == 0, err
    epoch_lines = [line for line in err.splitlines() if line.startswith("epoch 1:")]
    assert epoch_lines and "None" not in epoch_lines[0] and "val" not in epoch_lines[0]
    assert "0 held out" in out
