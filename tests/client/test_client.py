"""PseudoLabelDataset, train_student / evaluate, trainer plugins."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import plada_codec
from plada_codec import plugins
from plada_codec.client import (NearestCentroidTrainer, PseudoLabelDataset, evaluate, get_trainer,
                                list_trainers, load_pool_arrays, train_student)
from plada_codec.client.student import epochs_for, target_dataset
from plada_codec.errors import PladaError, PoolMismatch
from plada_codec.pool import Pool

from .conftest import SHAPES, shape_image


def _arrays(kinds, per, seed):
    rng = np.random.default_rng(seed)
    x = np.stack([shape_image(k, rng) for k in kinds for _ in range(per)])
    y = np.repeat(np.arange(len(kinds)), per)
    return x, y


def test_pseudo_label_dataset_checks_the_pool():
    x, _ = _arrays(SHAPES, 5, 0)
    pool = Pool.from_arrays(x, name="a")
    blob = plada_codec.encode(np.array([1, 7, 12]), np.array([2, 0, 1]), pool_size=15, num_classes=3,
                              class_names=["p", "q", "r"], pool=pool)
    ds = PseudoLabelDataset(pool, blob)
    assert len(ds) == 3 and ds.num_classes == 3 and ds.class_names == ["p", "q", "r"]
    img, label = ds[1]
    assert tuple(img.shape) == (3, 32, 32) and label == 0
    assert torch.allclose(img, torch.as_tensor(x[7]).permute(2, 0, 1).float() / 127.5 - 1)
    other = Pool.from_arrays(x, manifest=[f"z/{i:03d}.png" for i in range(15)], name="b")
    with pytest.raises(PoolMismatch, match="a .*b|b .*a"):
        PseudoLabelDataset(other, blob)
    # a decoded payload is checked too
    with pytest.raises(PoolMismatch):
        PseudoLabelDataset(other, plada_codec.decode(blob))


def test_load_pool_arrays_keeps_identity(tiny_pool, tmp_path):
    disk = Pool.from_folder(tiny_pool, cache=False)
    mem = load_pool_arrays(disk, tmp_path, progress=False)
    assert mem.identity == disk.identity and mem.images.shape == (len(disk), 32, 32, 3)
    assert np.array_equal(mem.load_array(130), np.asarray(disk.load_image(130).convert("RGB")))
    again = load_pool_arrays(disk, tmp_path, progress=False)  # from the .npy cache
    assert np.array_equal(again.images, mem.images)


def test_student_learns_and_evaluates_by_class_name(tiny_target):
    torch.set_num_threads(1)
    x, y = _arrays(SHAPES, 40, 5)
    pool = Pool.from_arrays(x)
    names = ["horizontal", "vertical", "round"]
    blob = plada_codec.encode(np.arange(len(y)), y, pool_size=len(y), num_classes=3, class_names=names, pool=pool)
    ds = PseudoLabelDataset(pool, blob)
    model, history = train_student(ds, 3, model="small-cnn", epochs=6, batch_size=16, progress=False)
    assert len(history.epochs) == 6
    acc = evaluate(model, tiny_target / "test", class_names=names)
    assert acc > 0.7  # chance is 1/3
    # class folders are matched by name, not position: a permuted name list breaks the student
    perm = evaluate(model, tiny_target / "test", class_names=["vertical", "round", "horizontal"])
    assert perm < 0.5


def test_target_dataset_maps_unknown_classes_to_minus_one(tiny_target):
    ds, names = target_dataset(tiny_target / "val", class_names=["round", "horizontal"])
    assert names == ["horizontal", "round", "vertical"]
    assert sorted(set(ds.targets.tolist())) == [-1, 0, 1]
    with pytest.raises(PladaError):
        target_dataset(tiny_target / "val", class_names=["cat", "dog"])


def test_epochs_for():
    assert epochs_for(100, epochs=3) == 3
    assert epochs_for(100, samples=1000) == 10
    assert epochs_for(10, samples=10**6, max_epochs=50) == 50
    assert epochs_for(10**6, samples=10) == 1


def test_trainer_plugins_builtin_and_runtime():
    assert {"torch", "nearest-centroid"} <= set(list_trainers())
    x, y = _arrays(SHAPES, 30, 1)
    xt, yt = _arrays(SHAPES, 20, 2)
    pred = get_trainer("nearest-centroid").fit(x, y, 3)
    assert (pred.predict(xt) == yt).mean() > 0.6

    class Majority:  # a trainer in the plugin protocol that needs no torch
        def fit(self, images, labels, num_classes, **kw):
            m = int(np.bincount(labels, minlength=num_classes).argmax())
            return type("P", (), {"predict": lambda self, im: np.full(len(im), m)})()

    plugins.register("plada_codec.trainers", "majority-test", Majority)
    try:
        assert "majority-test" in list_trainers()
        p = get_trainer("majority-test").fit(x, np.array([2] * len(y)), 3)
        assert p.predict(xt).tolist() == [2] * len(xt)
    finally:
        plugins.unregister("plada_codec.trainers", "majority-test")
    with pytest.raises(PladaError, match="nope"):
        get_trainer("nope")
