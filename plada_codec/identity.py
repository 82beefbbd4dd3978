"""Pool identity: what a payload says about the pool its indices refer to.

A pool is identified by its canonical manifest (see docs/FORMAT.md, "Pool identity", and
:mod:`plada_codec.pool`): ``sha256 = SHA-256(manifest bytes)``.  The core codec only needs this small
value type; building manifests from folders lives in :mod:`plada_codec.pool`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .errors import EncodeError, PoolMismatch

MAX_POOL_NAME_BYTES = 255


@dataclass(frozen=True)
class PoolIdentity:
    """(name, size, sha256) of a pool.  ``sha256`` is 32 raw bytes."""

    name: str
    size: int
    sha256: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, (bytes, bytearray)) or len(self.sha256) != 32:
            raise EncodeError("pool sha256 must be 32 raw bytes")
        if len(self.name.encode("utf-8")) > MAX_POOL_NAME_BYTES:
            raise EncodeError(f"pool name is longer than {MAX_POOL_NAME_BYTES} UTF-8 bytes")
        if not 1 <= int(self.size) <= 2**32 - 1:
            raise EncodeError(f"pool size {self.size} is outside 1..2**32-1")

    @property
    def hexdigest(self) -> str:
        return bytes(self.sha256).hex()

    def describe(self) -> str:
        return f"{self.name or '<unnamed>'} (N={self.size}, sha256={self.hexdigest[:16]}...)"

    @property
    def identity(self) -> "PoolIdentity":
        return self


def as_identity(pool) -> Optional[PoolIdentity]:
    """Accept a :class:`PoolIdentity`, or any object with an ``identity`` attribute (a Pool)."""
    if pool is None:
        return None
    if isinstance(pool, PoolIdentity):
        return pool
    ident = getattr(pool, "identity", None)
    if isinstance(ident, PoolIdentity):
        return ident
    raise TypeError(f"expected a Pool or PoolIdentity, got {type(pool).__name__}")


def group_sizes_of(pool) -> Optional[np.ndarray]:
    """The pool's folder sizes (images per folder, in pool order) when the pool object knows them."""
    if pool is None:
        return None
    g = getattr(pool, "group_sizes", None)
    if g is None:
        return None
    g = np.asarray(g() if callable(g) else g, dtype=np.int64)
    return g


def check_same_pool(expected: PoolIdentity, given: PoolIdentity) -> None:
    """Raise :class:`PoolMismatch` naming both pools unless they are the same pool."""
    if expected.size != given.size or bytes(expected.sha256) != bytes(given.sha256):
        raise PoolMismatch(
            f"payload was built for pool {expected.describe()}, "
            f"but the given pool is {given.describe()}"
        )
