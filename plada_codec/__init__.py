"""plada_codec: Pseudo-Labels as Data.

Ship a classification task to clients that already hold a large unlabeled image pool, as the list of
pool images to train on and their class labels, in a compact, self-describing, integrity-checked
``.pld`` payload (docs/FORMAT.md).

>>> import numpy as np, plada_codec
>>> blob = plada_codec.encode(np.array([3, 7, 8]), np.array([0, 2, 2]), pool_size=10, num_classes=3)
>>> p = plada_codec.decode(blob)
>>> p.indices.tolist(), p.labels.tolist()
([3, 7, 8], [0, 2, 2])

Importing this package compiles nothing and imports neither numba nor torch.
"""
from __future__ import annotations

from .errors import (
    CorruptPayload,
    DecodeError,
    EncodeError,
    InputError,
    LimitExceeded,
    PladaError,
    PoolError,
    PoolMismatch,
    TruncatedPayload,
    UnsupportedFeature,
    UsageError,
)
from .identity import PoolIdentity
from .limits import DEFAULT_LIMITS, Limits
from .payload import Payload, decode, encode, inspect, load, save

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``plada_codec.pool.Pool.from_folder(...)`` works after a plain ``import plada_codec``; the module is
    # imported on first use (PEP 562): importing it eagerly would add 4-6 ms to every start-up
    if name == "pool":
        import importlib

        return importlib.import_module(".pool", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "encode",
    "decode",
    "inspect",
    "save",
    "load",
    "Payload",
    "PoolIdentity",
    "Limits",
    "DEFAULT_LIMITS",
    "PladaError",
    "EncodeError",
    "DecodeError",
    "TruncatedPayload",
    "CorruptPayload",
    "UnsupportedFeature",
    "LimitExceeded",
    "PoolMismatch",
    "PoolError",
    "UsageError",
    "InputError",
]
