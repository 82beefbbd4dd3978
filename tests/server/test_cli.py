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
