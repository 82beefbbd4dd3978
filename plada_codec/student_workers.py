"""Train many independent students at once: in worker processes with one torch thread each, or in this
process (torch extra).

A small conv net on a 2-core CPU uses its two threads poorly (small matrices, per-op overheads): two
students trained side by side in two single-thread processes get through ~15-20 % more images per
second than one student with two threads (docs/RESULTS.md). The demo trains dozens of independent
students, so it submits them here and collects the results in order.

Jobs carry their images as uint8 arrays (the selected pool images, never the whole pool), so a worker
needs nothing but the job. Each student is seeded; a worker's result is deterministic for its thread
count (one thread may differ from two threads by float rounding, not more).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> imgs, labels = rng.integers(0, 255, (40, 16, 16, 3), dtype=np.uint8), np.arange(40) % 2
>>> recipe = StudentRecipe(model="small-cnn", image_size=16, samples=40, max_epochs=1, batch_size=20)
>>> with StudentRunner(workers=1) as runner:
...     result = runner.submit(imgs, labels, 2, recipe, {"test": (imgs, labels)}).result()
>>> sorted(result)
['accuracy', 'epochs', 'seconds']
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from .errors import PladaError


@dataclass(frozen=True)
class StudentRecipe:
    """How a student is trained (see :func:`plada_codec.client.student.train_student`)."""

    model: str = "fast-cnn"
    image_size: int = 32
    #: images seen in training: epochs = ceil(samples / n), clamped to [1, max_epochs]
    samples: int = 16000
    max_epochs: int = 80
    batch_size: int = 64
    lr: float = 4e-3
    label_smoothing: float = 0.1
    flip: bool = True
    seed: int = 0
    channels_last: bool = True


def train_and_measure(images: np.ndarray, labels: np.ndarray, num_classes: int, recipe: StudentRecipe,
                      evals: Mapping[str, Tuple[np.ndarray, np.ndarray]], desc: str = "student",
                      progress: bool = False) -> Dict:
    """Train a student on uint8 ``images`` (n, S, S, 3) and ``labels``; return ``{"accuracy": {name:
    accuracy on evals[name]}, "epochs", "seconds"}`` (seconds: training and evaluation)."""
    from .client.student import epochs_for, train_student
    from .torch_data import ArrayDataset, SmallImageTransform
    from .training import evaluate

    t0 = time.perf_counter()
    tf = SmallImageTransform(recipe.image_size)
    epochs = epochs_for(len(labels), samples=recipe.samples, max_epochs=recipe.max_epochs)
    model, _ = train_student(ArrayDataset(images, labels, tf), num_classes, model=recipe.model,
                             image_size=recipe.image_size, epochs=epochs, batch_size=recipe.batch_size,
                             lr=recipe.lr, seed=recipe.seed, progress=progress, desc=desc, flip=recipe.flip,
                             label_smoothing=recipe.label_smoothing, channels_last=recipe.channels_last)
    accuracy = {name: evaluate(model, ArrayDataset(x, y, tf)) for name, (x, y) in evals.items() if len(y)}
    return {"accuracy": accuracy, "epochs": epochs, "seconds": time.perf_counter() - t0}


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class StudentRunner:
    """Runs :func:`train_and_measure` jobs: with ``workers >= 2`` in that many spawned processes of one
    torch thread each (results come back as futures), with ``workers <= 1`` at once in this process
    (with progress bars when ``progress``).  Use as a context manager, or call :meth:`close`."""

    def __init__(self, workers: int = 1, progress: bool = False):
        self.workers = max(1, int(workers))
        self.progress = progress
        self._executor: Optional[ProcessPoolExecutor] = None
        if self.workers > 1:
            # spawn: a forked child of a process that has started torch's thread pool can hang
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker, initargs=(1,))

    def submit(self, images, labels, num_classes: int, recipe: StudentRecipe,
               evals: Mapping[str, Tuple[np.ndarray, np.ndarray]], desc: str = "student") -> Future:
        images = np.ascontiguousarray(images, dtype=np.uint8)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if self._executor is None:
            done: Future = Future()
            done.set_result(train_and_measure(images, labels, num_classes, recipe, evals, desc, self.progress))
            return done
        return self._executor.submit(train_and_measure, images, labels, num_classes, recipe, dict(evals), desc)

    @staticmethod
    def result(future: Future) -> Dict:
        """The job's result; a worker that died becomes a :class:`PladaError` that says so."""
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise PladaError(f"a student worker process died ({exc}); rerun with --workers 1 to train in "
                             "this process and see its error") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "StudentRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["StudentRecipe", "StudentRunner", "train_and_measure"]
