"""Scoring: the score formulas, chunked shards, resume, merge coverage checks, torchrun parity."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from plada_codec.errors import PladaError, PoolMismatch  # noqa: E402
from plada_codec.models import get_model  # noqa: E402
from plada_codec.pool import Pool  # noqa: E402
from plada_codec.server import scoring  # noqa: E402
from plada_codec.server.scoring import (  # noqa: E402
    ScoreTable, chunk_path, merge, parse_shard, score, scores_from_logits, shard_chunks, teacher_id)
from plada_codec.torch_data import SmallImageTransform  # noqa: E402

torch.set_num_threads(1)


def test_score_formulas():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 7)) * 4
    for T in (1.0, 0.5, 3.0):
        f = scores_from_logits(z, T)
        expected = -T * torch.logsumexp(torch.tensor(z) / T, dim=1).numpy()
        np.testing.assert_allclose(f["energy"], expected, rtol=1e-5)
    p = torch.softmax(torch.tensor(z), 1).numpy()
    f = scores_from_logits(z)
    np.testing.assert_allclose(f["entropy"], -(p * np.log(p)).sum(1), rtol=1e-5)
    np.testing.assert_allclose(f["max_prob"], p.max(1), rtol=1e-6)
    assert f["label"].tolist() == z.argmax(1).tolist()
    big = scores_from_logits(np.array([[1000.0, 0.0], [0.0, -1000.0]]))  # no overflow
    assert np.isfinite(big["energy"]).all() and big["entropy"][0] == pytest.approx(0.0, abs=1e-6)


def test_shards_tile_the_chunks_for_any_shard_count():
    for n in (1, 10, 100, 1001):
        chunks = scoring.chunk_ranges(n, 64)
        for shards in (1, 2, 3, 7, 40):
            got = [c for i in range(shards) for c in shard_chunks(n, i, shards, 64)]
            assert got == chunks
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(PladaError):
            parse_shard(bad)


@pytest.fixture()
def tiny():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8)
    pool = Pool.from_arrays(imgs, [f"g{i // 10}/{i % 10}.png" for i in range(30)], name="tiny")
    torch.manual_seed(0)
    model = get_model("small-cnn", 3, image_size=8).eval()
    return pool, model


def run(pool, model, out, **kw):
    kw.setdefault("chunk_size", 7)
    return score(model, pool, out, transform=SmallImageTransform(8), batch_size=5, progress=False, **kw)


def test_score_merge_equals_direct_inference(tiny, tmp_path):
    pool, model = tiny
    info = run(pool, model, tmp_path / "s")
    assert info["scored"] == 30 and len(info["chunks"]) == 5
    table = merge(tmp_path / "s", pool)
    x = torch.stack([SmallImageTransform(8)(pool.images[i]) for i in range(30)])
    with torch.no_grad():
        direct = scores_from_logits(model(x).numpy())
    np.testing.assert_allclose(table.energy, direct["energy"], rtol=1e-4, atol=1e-5)
    assert table.label.tolist() == direct["label"].tolist()
    assert (table.start, table.stop, table.teacher_id) == (0, 30, teacher_id(model))
    table.save(tmp_path / "merged.npz")
    again = scoring.load_scores(tmp_path / "merged.npz", pool)
    assert again.energy.tolist() == table.energy.tolist() and again.pool == pool.identity


def test_resume_skips_finished_chunks(tiny, tmp_path, monkeypatch):
    pool, model = tiny
    first = run(pool, model, tmp_path / "s", shard=(0, 2))
    assert first["scored"] == 14  # chunks [0,7) [7,14) of 5
    import plada_codec.training as training

    calls = []
    real = training.predict_logits
    monkeypatch.setattr(training, "predict_logits", lambda m, ds, **kw: calls.append(len(ds)) or real(m, ds, **kw))
    second = run(pool, model, tmp_path / "s")
    assert (second["scored"], second["skipped"]) == (16, 14) and calls == [7, 7, 2]
    calls.clear()
    assert run(pool, model, tmp_path / "s")["scored"] == 0 and calls == []
    # a different teacher must not silently reuse (or mix into) these chunks
    torch.manual_seed(1)
    with pytest.raises(PladaError, match="teacher"):
        run(pool, get_model("small-cnn", 3, image_size=8), tmp_path / "s")
    merge(tmp_path / "s", pool)


def test_merge_coverage_errors(tiny, tmp_path):
    pool, model = tiny
    run(pool, model, tmp_path / "s")
    os.remove(chunk_path(tmp_path / "s", 7, 14))
    with pytest.raises(PladaError, match=r"miss pool images \[7, 14\)"):
        merge(tmp_path / "s")
    run(pool, model, tmp_path / "s")  # resume fills the gap
    merge(tmp_path / "s")
    t = ScoreTable.load(chunk_path(tmp_path / "s", 0, 7))
    t2 = ScoreTable(**{**t.__dict__, "start": 0, "stop": 10,
                       **{f: np.concatenate([getattr(t, f), getattr(t, f)[:3]]) for f in scoring.SCORE_FIELDS}})
    t2.save(chunk_path(tmp_path / "s", 0, 10))
    with pytest.raises(PladaError, match="scored twice"):
        merge(tmp_path / "s")
    os.remove(chunk_path(tmp_path / "s", 0, 10))
    os.remove(chunk_path(tmp_path / "s", 28, 30))
    with pytest.raises(PladaError, match=r"miss pool images \[28, 30\)"):
        merge(tmp_path / "s")
    run(pool, model, tmp_path / "s")
    # a chunk of another pool
    other = Pool.from_arrays(pool.images, [f"h{i // 10}/{i % 10}.png" for i in range(30)], name="other")
    run(other, model, tmp_path / "o")
    os.replace(chunk_path(tmp_path / "o", 14, 21), chunk_path(tmp_path / "s", 14, 21))
    with pytest.raises(PoolMismatch) as err:
        merge(tmp_path / "s")
    assert "tiny" in str(err.value) and "other" in str(err.value)
    # a chunk of another teacher / another temperature
    run(pool, model, tmp_path / "t", temperature=2.0)
    os.replace(chunk_path(tmp_path / "t", 14, 21), chunk_path(tmp_path / "s", 14, 21))
    with pytest.raises(PladaError, match="temperature"):
        merge(tmp_path / "s")
    t = ScoreTable.load(chunk_path(tmp_path / "s", 0, 7))
    t.teacher_id, t.temperature = "someone-else", 1.0
    t.save(chunk_path(tmp_path / "s", 14, 21).with_name("x.npz"))
    with pytest.raises(PladaError, match="teacher"):
        merge([chunk_path(tmp_path / "s", 0, 7), tmp_path / "s" / "x.npz"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PladaError, match="no score files"):
        merge(tmp_path / "empty")


def test_teacher_id_follows_the_weights(tiny):
    _, model = tiny
    a = teacher_id(model)
    assert a == teacher_id(model) and len(a) == 16
    with torch.no_grad():
        model.head.bias[0] += 1
    assert teacher_id(model) != a


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(task_dirs, tmp_path):
    """The same command under torchrun (2 CPU processes, gloo) gives the same merged scores as 1 process."""
    from plada_codec.server.teacher import train_teacher

    teacher = train_teacher(task_dirs["train"], epochs=1, image_size=16, progress=False, batch_size=32)
    teacher.save(tmp_path / "t.pt")
    common = ["score", "--teacher", str(tmp_path / "t.pt"), "--pool", str(task_dirs["pool"]), "--chunk-size", "16",
              "--threads", "1", "--quiet", "--batch-size", "8"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    env["OMP_NUM_THREADS"] = "1"
    one = subprocess.run([sys.executable, "-m", "plada_codec", *common, "--out", str(tmp_path / "one"),
                          "--merge-to", str(tmp_path / "one.npz")], capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "plada_codec", *common, "--out", str(tmp_path / "two"),
                          "--merge-to", str(tmp_path / "two.npz")], capture_output=True, text=True, env=env, timeout=180)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "shard 0/2" in two.stdout and "shard 1/2" in two.stdout
    a, b = ScoreTable.load(tmp_path / "one.npz"), ScoreTable.load(tmp_path / "two.npz")
    assert (a.start, a.stop) == (b.start, b.stop) == (0, 80)
    for f in scoring.SCORE_FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.teacher_id == b.teacher_id == teacher.teacher_id and a.pool == b.pool
