"""``python -m plada_codec train`` end to end on a tiny pool (through cli.main)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

import plada_codec
from plada_codec.cli import EXIT_OK, EXIT_POOL, main
from plada_codec.pool import Pool

FOLDER_CLASS = {"s.bar_h": "horizontal", "s.bar_v": "vertical", "s.disc": "round"}


def _payload(pool: Pool, path, sha_of=None):
    idx = np.array([i for i, p in enumerate(pool.paths) if p.split("/")[0] in FOLDER_CLASS][::2])
    names = ["horizontal", "round", "vertical"]  # payload order differs from the folders' order on purpose
    lab = np.array([names.index(FOLDER_CLASS[pool.paths[i].split("/")[0]]) for i in idx])
    plada_codec.save(path, idx, lab, pool_size=len(pool), num_classes=3, class_names=names, pool=pool)


def test_train_command_evaluates_and_writes_a_record(tiny_pool, tiny_target, tmp_path, capsys):
    pool = Pool.from_folder(tiny_pool)
    _payload(pool, tmp_path / "task.pld")
    rec = tmp_path / "rec.json"
    rc = main(["train", str(tmp_path / "task.pld"), "--pool", str(tiny_pool), "--eval", str(tiny_target),
               "--trainer", "nearest-centroid", "--out", str(rec), "--quiet"])
    out = capsys.readouterr().out
    assert rc == EXIT_OK, out
    r = json.loads(rec.read_text())
    assert r["kept"] == 180 and r["eval"]["images"] == 120 and r["eval"]["folder"].endswith("test")
    assert r["eval"]["accuracy"] > 0.42 and "accuracy on" in out  # chance 1/3; a deterministic 0.48


def test_train_command_torch_trainer(tiny_pool, tiny_target, tmp_path, capsys):
    pool = Pool.from_folder(tiny_pool)
    _payload(pool, tmp_path / "task.pld")
    rec = tmp_path / "rec.json"
    rc = main(["train", str(tmp_path / "task.pld"), "--pool", str(tiny_pool), "--eval", str(tiny_target / "test"),
               "--model", "small-cnn", "--epochs", "5", "--threads", "1", "--out", str(rec), "--quiet",
               "--save-model", str(tmp_path / "m.pt")])
    assert rc == EXIT_OK, capsys.readouterr()
    assert json.loads(rec.read_text())["eval"]["accuracy"] > 0.6
    assert (tmp_path / "m.pt").stat().st_size > 1000


def test_train_command_refuses_another_pool(tiny_pool, tiny_target, tmp_path, capsys):
    other = Pool.from_arrays(np.zeros((len(Pool.from_folder(tiny_pool)), 32, 32, 3), np.uint8), name="other")
    _payload_other = tmp_path / "other.pld"
    plada_codec.save(_payload_other, np.array([0, 1]), np.array([0, 1]), pool_size=len(other), num_classes=3,
                     pool=other)
    rc = main(["train", str(_payload_other), "--pool", str(tiny_pool), "--trainer", "nearest-centroid"])
    err = capsys.readouterr().err
    assert rc == EXIT_POOL and "other" in err
