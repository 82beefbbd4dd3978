"""Client trainers are plugins: anything that turns (images, labels) into a predictor.

Protocol (framework-neutral, numpy in and out, so a JAX, sklearn or TensorFlow trainer fits)::

    class MyTrainer:
        name = "my-trainer"
        def fit(self, images, labels, num_classes, *, seed=0, **options):
            # images: indexable sequence of uint8 arrays (H, W, 3) (``np.asarray(images)`` materialises
            #         it); labels: int64 array; returns an object with
            return predictor  # predictor.predict(images) -> int64 array of class indices

Register it under the entry-point group ``plada_codec.trainers`` of your package's pyproject.toml
(``my-trainer = "my_pkg.trainers:MyTrainer"``) or at run time with
``plada_codec.plugins.register("plada_codec.trainers", "my-trainer", MyTrainer)``; then
``python -m plada_codec train task.pld --pool DIR --trainer my-trainer``.  A class is instantiated
with no arguments; an instance is used as is.  Built in: ``torch`` (the default student) and
``nearest-centroid`` (numpy only, a floor to compare against).
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..errors import PladaError, UsageError

GROUP = "plada_codec.trainers"


class _Images:
    """A lazy view of pool images ``indices`` as an indexable sequence of uint8 arrays."""

    def __init__(self, pool, indices):
        self.pool, self.indices = pool, np.asarray(indices, dtype=np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, j):
        a = np.asarray(self.pool.load_array(int(self.indices[j])))
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        return a[:, :, :3]

    def __array__(self, dtype=None, copy=None):
        out = np.stack([self[j] for j in range(len(self))]) if len(self) else np.zeros((0, 32, 32, 3), np.uint8)
        return out if dtype is None else out.astype(dtype)


class _TorchPredictor:
    def __init__(self, model, image_size: int, device=None):
        self.model, self.image_size, self.device = model, image_size, device

    def predict(self, images) -> np.ndarray:
        from ..torch_data import ArrayDataset, SmallImageTransform
        from ..training import predict_logits

        ds = ArrayDataset(np.asarray(images, dtype=np.uint8), np.zeros(len(images), np.int64),
                          SmallImageTransform(self.image_size))
        return predict_logits(self.model, ds, device=self.device).argmax(1).numpy().astype(np.int64)


class _SequenceDataset:
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, np.asarray(labels, dtype=np.int64), transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, j):
        return self.transform(self.images[j]), int(self.labels[j])

    @property
    def targets(self):
        return self.labels


class TorchTrainer:
    """The default student (:func:`~.student.train_student`) behind the trainer protocol."""

    name = "torch"

    def fit(self, images, labels, num_classes, *, seed: int = 0, model: str = "resnet18", epochs=None,
            samples=None, image_size: int = 32, device=None, num_workers: int = 0, progress: bool = True,
            **options):
        from ..torch_data import SmallImageTransform
        from .student import train_student

        ds = _SequenceDataset(images, labels, SmallImageTransform(image_size))
        net, history = train_student(ds, num_classes, model=model, epochs=epochs, samples=samples,
                                     image_size=image_size, seed=seed, device=device, num_workers=num_workers,
                                     progress=progress, **options)
        pred = _TorchPredictor(net, image_size, device)
        pred.history = history.as_dict()
        return pred


class _CentroidPredictor:
    def __init__(self, centroids):
        self.centroids = centroids

    def predict(self, images) -> np.ndarray:
        x = _features(np.asarray(images))
        d = ((x[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        return d.argmin(1).astype(np.int64)


def _features(a: np.ndarray) -> np.ndarray:
    x = a.reshape(len(a), -1).astype(np.float32) / 255.0
    x -= x.mean(1, keepdims=True)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


class NearestCentroidTrainer:
    """Numpy only: one mean (normalised pixels) per class; predicts the nearest.  A floor, and an example
    of a trainer that is not torch."""

    name = "nearest-centroid"

    def fit(self, images, labels, num_classes, *, seed: int = 0, **options):
        x = _features(np.asarray(images))
        labels = np.asarray(labels, dtype=np.int64)
        c = np.zeros((num_classes, x.shape[1]), np.float32)
        for k in range(num_classes):
            if (labels == k).any():
                c[k] = x[labels == k].mean(0)
            else:
                c[k] = np.inf  # a class with no kept image is never predicted
        return _CentroidPredictor(c)


def list_trainers() -> List[str]:
    from .. import plugins

    return plugins.names(GROUP)


def get_trainer(name: str):
    """An instance of the trainer registered as ``name`` (built in, entry point or run-time plugin); an
    unknown name raises :class:`UsageError` listing the known ones."""
    from .. import plugins

    known = list_trainers()
    if name not in known:
        raise UsageError(f"unknown trainer {name!r}; known: {', '.join(known)}")
    obj = plugins.load(GROUP, name)
    if isinstance(obj, type):
        obj = obj()
    if not callable(getattr(obj, "fit", None)):
        raise PladaError(f"trainer {name!r} has no fit(images, labels, num_classes) method (docs/CLIENT.md)")
    return obj


__all__ = ["TorchTrainer", "NearestCentroidTrainer", "get_trainer", "list_trainers", "GROUP"]
