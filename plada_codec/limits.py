"""Explicit resource limits for decoding untrusted payloads.

Every count and length read from a payload is checked against the file size and against a
:class:`Limits` instance *before* anything is allocated.  Limits are passed as an argument
(``decode(blob, limits=Limits(max_kept=...))``), never read from globals.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, fields

from .errors import LimitExceeded


@dataclass(frozen=True)
class Limits:
    """Upper bounds a decoder accepts.  Defaults fit ImageNet-21K (14.2 M images) with room to spare.

    max_payload_bytes: largest whole payload accepted.
    max_pool_size:     largest pool size N (the format's own cap is 2**32 - 1).
    max_kept:          largest kept count k; bounds the decoded arrays (16 bytes per kept image).
    max_classes:       largest class count C (the format's own cap is 65535).
    max_class_names_bytes: decoded size of the class-names section.
    max_meta_bytes:    decoded size of the selection-metadata section.

    Every value must be a non-negative int: anything else raises ``TypeError`` / ``ValueError`` here,
    naming the field.
    """

    max_payload_bytes: int = 256 * 2**20
    max_pool_size: int = 2**32 - 1
    max_kept: int = 2**26
    max_classes: int = 65535
    max_class_names_bytes: int = 16 * 2**20
    max_meta_bytes: int = 64 * 2**10

    def __post_init__(self) -> None:
        # a bad limit is the caller's mistake: refuse it here, not later as a payload "corruption"
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                if isinstance(value, bool):
                    raise TypeError
                value = operator.index(value)  # numpy integers become plain ints
            except TypeError:
                raise TypeError(f"Limits.{f.name} must be an int, got {type(value).__name__} ({value!r})") from None
            if value < 0:
                raise ValueError(f"Limits.{f.name} must be >= 0, got {value}")
            object.__setattr__(self, f.name, value)

    def check(self, what: str, value: int, limit_name: str) -> None:
        """Raise :class:`LimitExceeded` when ``value`` is above the limit called ``limit_name``."""
        limit = getattr(self, limit_name)
        if value > limit:
            raise LimitExceeded(f"{what} is {value}, above the limit {limit_name}={limit}")


DEFAULT_LIMITS = Limits()
