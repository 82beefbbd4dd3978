"""Students trained in worker processes: the same model as in this process, errors reach the caller."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from plada_codec.student_workers import StudentRecipe, StudentRunner, train_and_measure


def _bars(n, seed=0):
    """Vertical (class 0) or horizontal (class 1) bright bars on noise, 16 px."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (n, 16, 16, 3), dtype=np.uint8)
    y = np.arange(n) % 2
    for i in range(n):
        p = rng.integers(2, 14)
        if y[i]:
            x[i, p - 1:p + 1] = 255
        else:
            x[i, :, p - 1:p + 1] = 255
    return x, y


RECIPE = StudentRecipe(model="small-cnn", image_size=16, samples=480, max_epochs=8, batch_size=32, lr=4e-3,
                       flip=False, channels_last=False)


def test_worker_and_in_process_students_agree():
    torch.set_num_threads(1)
    x, y = _bars(120)
    tx, ty = _bars(60, seed=1)
    here = train_and_measure(x, y, 2, RECIPE, {"test": (tx, ty), "train": (x, y)})
    assert here["epochs"] == 4 and here["accuracy"]["test"] > 0.8  # it learnt bars
    with StudentRunner(workers=2) as runner:
        futures = [runner.submit(x, y, 2, RECIPE, {"test": (tx, ty), "train": (x, y)}) for _ in range(2)]
        there = [runner.result(f) for f in futures]
    assert [t["accuracy"] for t in there] == [here["accuracy"]] * 2  # one thread each: the very same model


def test_a_failing_job_raises_in_the_caller():
    x, y = _bars(10)
    with StudentRunner(workers=2) as runner:
        future = runner.submit(x, y[:5], 2, RECIPE, {})
        with pytest.raises(ValueError, match="10 images but 5 labels"):
            runner.result(future)
    with StudentRunner(workers=1) as runner, pytest.raises(ValueError, match="10 images but 5 labels"):
        runner.submit(x, y[:5], 2, RECIPE, {})
