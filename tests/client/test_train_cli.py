"""``python -m plada_codec train`` end to end on a tiny pool (through cli.main)."""
from __future__ import annotations

import json
import os

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


# ----------------------------------------------------------------------------------------------------------
# bad input is refused with a clear message before any work (and without a traceback or a leftover file)

from plada_codec.cli import EXIT_INPUT, EXIT_USAGE  # noqa: E402
from plada_codec.client.trainers import NearestCentroidTrainer, TorchTrainer  # noqa: E402
from plada_codec.errors import InputError  # noqa: E402

from .conftest import SHAPES, write_folder  # noqa: E402


@pytest.fixture()
def task(tiny_pool, tmp_path):
    """tmp_path/task.pld, a payload of 180 images of the tiny pool (classes horizontal, round, vertical)."""
    _payload(Pool.from_folder(tiny_pool), tmp_path / "task.pld")
    return tmp_path / "task.pld"


@pytest.fixture()
def no_training(monkeypatch):
    """Any trainer reaching fit() fails the test: the command had to stop before."""
    def fit(self, *a, **kw):
        raise AssertionError("training started although the command line was refused")

    monkeypatch.setattr(TorchTrainer, "fit", fit)
    monkeypatch.setattr(NearestCentroidTrainer, "fit", fit)


def _train(capsys, *args):
    rc = main(["train", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name != "task.pld")


@pytest.mark.parametrize("option, trainer", [("--out", "nearest-centroid"), ("--save-model", "torch")])
def test_train_checks_output_paths_before_training(task, tiny_pool, tmp_path, capsys, no_training, option, trainer):
    target = tmp_path / "nodir" / "x.out"
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--trainer", trainer, option, target, "--quiet")
    assert rc == EXIT_USAGE and option in err and "nodir" in err and "does not exist" in err
    assert _leftovers(tmp_path) == []


def test_train_refuses_an_output_that_would_overwrite_the_payload_or_the_other_output(task, tiny_pool, tmp_path,
                                                                                      capsys, no_training):
    before = task.read_bytes()
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--trainer", "nearest-centroid", "--out", task)
    assert rc == EXIT_USAGE and "overwrite the payload" in err and task.read_bytes() == before
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--out", tmp_path / "x", "--save-model", tmp_path / "x")
    assert rc == EXIT_USAGE and "--out" in err and "--save-model" in err
    assert _leftovers(tmp_path) == []


def _eval_folder(tmp_path, kind):
    root = tmp_path / f"eval-{kind}"
    if kind == "empty":
        (root / "horizontal").mkdir(parents=True)
    elif kind == "foreign-classes":
        write_folder(root, SHAPES, 2, seed=5, names=["cat", "dog", "fish"])
    elif kind == "loose-images":
        write_folder(root, SHAPES, 2, seed=5, names=["horizontal", "vertical", "round"])
        (root / "horizontal" / "0000.png").rename(root / "0000.png")
    return root


@pytest.mark.parametrize("kind, message", [("missing", "no such folder"), ("empty", "no images"),
                                           ("foreign-classes", "no class folder (cat, dog, fish) is a payload class"),
                                           ("loose-images", "class folders")])
def test_train_checks_the_eval_folder_before_training(task, tiny_pool, tmp_path, capsys, no_training, kind, message):
    folder = _eval_folder(tmp_path, kind)
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--trainer", "nearest-centroid", "--eval", folder,
                        "--out", tmp_path / "r.json")
    assert rc == EXIT_INPUT and message in err and str(folder) in err and "pool:" not in err
    assert not (tmp_path / "r.json").exists()


def test_train_missing_payload_is_an_input_error(tiny_pool, tmp_path, capsys, no_training):
    rc, _, err = _train(capsys, tmp_path / "nofile.pld", "--pool", tiny_pool)
    assert rc == EXIT_INPUT and "cannot read payload" in err and "nofile.pld" in err and "pool:" not in err
    from plada_codec.client import PseudoLabelDataset

    with pytest.raises(InputError, match="nofile.pld"):
        PseudoLabelDataset(Pool.from_folder(tiny_pool), tmp_path / "nofile.pld")


@pytest.mark.parametrize("args, option", [(["--epochs", "0"], "--epochs"), (["--epochs", "-2"], "--epochs"),
                                          (["--samples", "0"], "--samples"), (["--workers", "-1"], "--workers"),
                                          (["--threads", "0"], "--threads"),
                                          (["--epochs", "3", "--samples", "5"], "--samples")])
def test_train_refuses_bad_counts(task, tiny_pool, capsys, no_training, args, option):
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--model", "small-cnn", *args)
    assert rc == EXIT_USAGE and f"argument {option}:" in err


def test_train_samples_prints_and_records_the_epochs_trained(task, tiny_pool, tmp_path, capsys):
    rec = tmp_path / "rec.json"
    rc, out, err = _train(capsys, task, "--pool", tiny_pool, "--model", "small-cnn", "--samples", 360,
                          "--threads", 1, "--quiet", "--out", rec)
    assert rc == EXIT_OK, err
    assert "--samples 360: 2 epochs of 180 images" in out  # ceil(360 / 180)
    assert "trained small-cnn (torch trainer) on 180 images for 2 epochs" in out
    options = json.loads(rec.read_text())["options"]
    assert options["epochs"] == 2 and options["samples"] == 360 and options["model"] == "small-cnn"


def test_train_refuses_an_unavailable_device_before_any_work(task, tiny_pool, tmp_path, capsys, no_training):
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--model", "small-cnn", "--device", "cuda:99",
                        "--out", tmp_path / "r.json")
    assert rc == EXIT_USAGE and "cuda:99" in err and "CUDA device" in err
    assert _leftovers(tmp_path) == []


def test_train_passes_device_and_workers_to_the_torch_trainer(task, tiny_pool, tmp_path, capsys, monkeypatch):
    from plada_codec.client import student

    seen = {}
    real = student.train_classifier

    def spy(*a, **kw):
        seen.update(kw)
        return real(*a, **kw)

    monkeypatch.setattr(student, "train_classifier", spy)
    rec = tmp_path / "rec.json"
    rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--model", "small-cnn", "--epochs", 1, "--threads", 1,
                        "--device", "cpu", "--workers", 1, "--quiet", "--out", rec)
    assert rc == EXIT_OK, err
    assert seen["device"] == "cpu" and seen["num_workers"] == 1 and seen["epochs"] == 1
    options = json.loads(rec.read_text())["options"]
    assert options["device"] == "cpu" and options["workers"] == 1


def test_train_refuses_torch_options_with_another_trainer(task, tiny_pool, tmp_path, capsys, no_training):
    for args in (["--epochs", "3"], ["--model", "small-cnn"], ["--device", "cpu"], ["--workers", "0"],
                 ["--save-model", tmp_path / "m.pt"]):
        rc, _, err = _train(capsys, task, "--pool", tiny_pool, "--trainer", "nearest-centroid", *args)
        assert rc == EXIT_USAGE and args[0] in err and "only the torch trainer" in err
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("args, known", [(["--trainer", "bogus"], "torch, nearest-centroid"),
                                         (["--model", "nope"], "small-cnn, fast-cnn, resnet18")])
def test_train_unknown_trainer_or_model_is_a_usage_error_before_decoding(tiny_pool, tmp_path, capsys, no_training,
                                                                         args, known):
    # the payload does not even exist: the name is refused before it is read
    rc, _, err = _train(capsys, tmp_path / "nofile.pld", "--pool", tiny_pool, *args)
    assert rc == EXIT_USAGE and repr(args[1]) in err and f"known: {known}" in err


def test_train_prints_a_summary_and_records_absolute_paths(task, tiny_pool, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pool_rel = os.path.relpath(tiny_pool, tmp_path)
    rc, out, err = _train(capsys, "task.pld", "--pool", pool_rel, "--trainer", "nearest-centroid")
    assert rc == EXIT_OK, err
    assert out.splitlines()[-1].startswith("trained nearest-centroid on 180 images in ")
    rc, out, err = _train(capsys, "task.pld", "--pool", pool_rel, "--trainer", "nearest-centroid", "--out", "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["payload"] == str(tmp_path / "task.pld")
    assert os.path.isabs(r["pool"]["root"]) and os.path.samefile(r["pool"]["root"], tiny_pool)


def test_train_plugin_without_a_model_keeps_its_results_when_save_model_fails(task, tiny_pool, tmp_path, capsys):
    from plada_codec import plugins

    class Majority:  # a plugin trainer whose predictor has no torch model
        def fit(self, images, labels, num_classes, *, seed=0):
            m = int(np.bincount(labels, minlength=num_classes).argmax())
            return type("P", (), {"predict": lambda self, im: np.full(len(im), m)})()

    plugins.register("plada_codec.trainers", "majority-cli-test", Majority)
    try:
        rc, out, err = _train(capsys, task, "--pool", tiny_pool, "--trainer", "majority-cli-test",
                              "--save-model", tmp_path / "m.pt", "--out", tmp_path / "r.json")
    finally:
        plugins.unregister("plada_codec.trainers", "majority-cli-test")
    assert rc == 1 and "--save-model" in err and "no torch model" in err
    assert json.loads((tmp_path / "r.json").read_text())["trainer"] == "majority-cli-test"
    assert _leftovers(tmp_path) == ["r.json"]


@pytest.mark.parametrize("argv, words", [
    (["--budgets", "x"], ["--budgets", "'x' is not a number"]),
    (["--budgets", "0.01,1.5"], ["--budgets", "1.5"]),
    (["--teacher-epochs", "0"], ["--teacher-epochs"]),
    (["--student-samples", "0"], ["--student-samples"]),
    (["--workers", "-1"], ["--workers"]),
    (["--student", "nope"], ["--student nope", "known"]),
    (["--methods", "vanilla,magic"], ["magic", "known"]),
])
def test_demo_refuses_bad_options_before_any_work(tmp_path, capsys, monkeypatch, argv, words):
    """Bad demo options are usage errors (exit 2) raised before the benchmark is opened or a teacher trains
    (``--teacher-epochs 0`` used to be silently ignored, ``--budgets x`` ended in a traceback)."""
    import plada_codec.demo as demo

    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: pytest.fail("the demo started"))
    rc = main(["demo", "--quick", "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    assert not (tmp_path / "out").exists()
