"""The demo end to end on the tiny fixture pool and a target folder (the ``--target`` path any user
ImageFolder takes): exact round trips, outputs written, students beat chance, PLADA beats JPEG."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from plada_codec.cli import EXIT_OK, main
from plada_codec.demo import DemoConfig, flip_test, jpeg_baseline_set, jpeg_bytes, load_split, run_demo

TINY = DemoConfig(budgets=(0.25,), methods=("vanilla", "safety-net"), teacher_epochs=6, student_samples=1200,
                  student_max_epochs=30, proxy_epochs=1, proxy_max_images=100, teacher_batch_size=32,
                  student_batch_size=32)


def test_demo_on_a_target_folder(tiny_pool, tiny_target, tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "results"
    res = run_demo(out, targets=[tiny_target], pool_dir=tiny_pool, config=TINY, progress=False, log=lambda *a: None)
    for name in ("results.json", "results.csv", "results.md", "accuracy_vs_bytes.png"):
        assert (out / name).stat().st_size > 100, name
    rows = res["rows"]
    assert {r["method"] for r in rows} == {"vanilla", "safety-net", "auto", "random-pool", "jpeg"}
    assert all(r["round_trip"] == "exact" for r in rows if r["method"] in ("vanilla", "safety-net", "auto"))
    task = res["tasks"][0]
    assert task["teacher"]["test_acc"] > 0.8 and task["chance"] == pytest.approx(1 / 3)
    vanilla = [r for r in rows if r["method"] == "vanilla"]
    # vanilla collapses onto the easiest class here (the paper's "class collapse"); Safety-Net's quotas fix it
    net = [r for r in rows if r["method"] == "safety-net"]
    assert all(r["classes_kept"] == 3 for r in net)
    assert all(r["test_acc"] > 0.6 for r in net)  # chance 1/3: the student learnt from pool images only
    for r in rows:
        if r["method"] in ("jpeg", "random-pool"):
            v = next(x for x in vanilla if x["budget"] == r["budget"])
            assert r["bytes"] <= v["bytes"]  # baselines never get more bytes than the payload
    assert len(task["auto"]) == 1 and task["auto"][0]["chosen"]
    # auto judged every candidate by the held-out accuracy of the demo's own student (the test split is
    # never read for it); a candidate that is a trained method reuses that student, and so does auto
    auto = next(r for r in rows if r["method"] == "auto")
    judged = {(c["rule"], c["safety_net"] is not None): c["val_acc"] for c in task["auto"][0]["candidates"]}
    assert judged[("low-energy", False)] == vanilla[0]["heldout_acc"]
    assert judged[("low-energy", True)] == net[0]["heldout_acc"]
    assert auto["heldout_acc"] == max(judged.values())
    same = [r for r in vanilla + net if r["heldout_acc"] == auto["heldout_acc"] and r["k"] == auto["k"]]
    if auto["chosen"] in ("low-energy", "low-energy +safety-net"):
        assert same and auto["test_acc"] == same[0]["test_acc"] and "same selection" in auto["note"]
    # the shapes (bars, discs) survive a left-right flip: the teacher's flip test lets students flip
    assert task["flip"]["student_flip"] is True
    assert task["flip"]["heldout_acc_flipped"] >= 0.9 * task["flip"]["heldout_acc"]
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert "| budget |" in (out / "results.md").read_text()
    assert json.loads((out / "results.json").read_text())["pool"]["size"] == 480


def test_student_workers_give_the_rows_of_training_in_process(tiny_pool, tiny_target, tmp_path):
    """Two worker processes of one thread train the same students as this process with one thread: the
    same seeds, the same arrays, so the same accuracies, in the same row order."""
    torch.set_num_threads(1)
    cfg = DemoConfig(budgets=(0.25,), methods=("vanilla", "safety-net"), teacher_epochs=2, student_samples=300,
                     student_max_epochs=5, teacher_batch_size=32, student_batch_size=32)
    runs = [run_demo(tmp_path / f"w{w}", targets=[tiny_target], pool_dir=tiny_pool, config=cfg, workers=w,
                     progress=False, log=lambda *a: None) for w in (1, 2)]
    keys = ("method", "budget", "k", "bytes", "test_acc", "heldout_acc", "epochs")
    assert [[r.get(k) for k in keys] for r in runs[0]["rows"]] == [[r.get(k) for k in keys] for r in runs[1]["rows"]]
    assert [r["machine"]["student_workers"] for r in runs] == [1, 2]


def test_flip_test_tells_a_mirrored_task():
    class LeftBright(torch.nn.Module):  # class 1 when the left half is brighter than the right half
        def forward(self, x):
            d = x[..., : x.shape[-1] // 2].mean((1, 2, 3)) - x[..., x.shape[-1] // 2:].mean((1, 2, 3))
            return torch.stack([-d, d], 1)

    from plada_codec.torch_data import SmallImageTransform

    images = np.zeros((20, 8, 8, 3), np.uint8)
    labels = np.arange(20) % 2
    images[labels == 1, :, :4] = 200
    images[labels == 0, :, 4:] = 200
    plain, flipped = flip_test(LeftBright(), images, labels, SmallImageTransform(8))
    assert (plain, flipped) == (1.0, 0.0)


def test_jpeg_baseline_fits_the_byte_budget(tiny_target):
    train = load_split(tiny_target / "train")
    one = len(jpeg_bytes(train.images[0], 30))
    imgs, labels, nbytes = jpeg_baseline_set(train, 2000, 30, 19, seed=0)
    assert 0 < len(labels) < 2000 // 50 and nbytes <= 2000 and imgs.shape[1:] == (32, 32, 3)
    assert one < 2000
    none, _, zero = jpeg_baseline_set(train, 10, 30, 19, seed=0)
    assert len(none) == 0 and zero == 0


def test_demo_cli_rejects_a_folder_without_splits(tiny_pool, tmp_path, capsys):
    rc = main(["demo", "--target", str(tiny_pool), "--pool", str(tiny_pool), "--out", str(tmp_path / "r"),
               "--quiet", "--threads", "1"])
    assert rc != EXIT_OK and "train/ and test/" in capsys.readouterr().err
