"""Codec registry: stream codecs registered by a stable numeric id (docs/FORMAT.md, "Codec ids").

A codec serves one section type:

* ``INDICES`` codecs turn the sorted kept indices (int64) into bytes and back;
* ``LABELS`` codecs turn the labels (int64, one per kept index, in index order) into bytes and back;
  they may condition on the already decoded indices (``ctx.indices``);
* ``JOINT`` codecs code indices and labels together into one section;
* ``BYTES`` codecs code an opaque byte string (class names, metadata).

Every codec may condition on ``ctx.groups`` (the pool's folder sizes) only if it declares
``needs_groups = True``; such a codec is only offered when the encoder was given a pool with folder
information, and decoding it requires the same pool.

Registering two codecs with the same id or name raises (unlike numcodecs, nothing is silently replaced).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .errors import UnsupportedFeature


class SectionType(enum.IntEnum):
    #: not a wire section type: the kind of codec that serves CLASS_NAMES and META sections
    BYTES = 0
    INDICES = 1
    LABELS = 2
    CLASS_NAMES = 3
    META = 4
    JOINT = 5


@dataclass(frozen=True)
class StreamContext:
    """What both ends know before a section is coded.

    pool_size:   N
    num_classes: C
    count:       k, the number of kept images
    indices:     decoded sorted indices (int64, length k); given to LABELS codecs only
    groups:      the pool's folder sizes (int64, sums to N) when side information is in use, else None
    raw_length:  for BYTES codecs, the declared decoded length in bytes (bounded by the caller's limits)
    """

    pool_size: int
    num_classes: int
    count: int
    indices: Optional[np.ndarray] = None
    groups: Optional[np.ndarray] = None
    raw_length: int = 0


class Codec:
    """Base class.  Subclasses set ``codec_id``, ``name``, ``section`` and implement encode/decode.

    Contract for ``decode``: the input is untrusted.  It must raise :class:`CorruptPayload` (or
    :class:`TruncatedPayload`) on any inconsistency, must consume ``data`` exactly, and must never allocate
    more than O(ctx.count + len(data)) (ctx.count is already bounded by the caller's limits).
    Indices it returns are int64, strictly increasing, in [0, N); labels int64 in [0, C).
    ``encode`` returns ``None`` when the codec cannot represent the input (the encoder then skips it).
    """

    codec_id: int = -1
    name: str = ""
    section: SectionType = SectionType.INDICES
    needs_groups: bool = False
    #: included when the encoder tries all candidates (codec="auto")
    auto: bool = True
    #: rough encode time per value, relative to a bit-packing pass (1); the auto encoder starts the
    #: costliest candidates first so that its threads finish together
    encode_cost: int = 10
    #: included in codec="fast": a decoder without a learnt model (one table or coder step per value,
    #: 38-310 M values/s on one core in docs/SPEED.md: payloads of them decode at 20-35 M kept images/s
    #: with their labels whatever the data)
    fast_decode: bool = False

    def encode(self, values, ctx: StreamContext):  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, data: bytes, ctx: StreamContext):  # pragma: no cover - interface
        raise NotImplementedError

    def max_count(self, nbytes: int, ctx: StreamContext) -> int:
        """The largest number of values ``nbytes`` of this codec can hold.  The decoder checks the declared
        k against it (INDICES and JOINT sections) before allocating anything, so a tiny section cannot
        make it allocate k-sized arrays.  The default assumes that every value costs at least one coded
        decision of more than 1/4096 bit; codecs with a tighter bound override it, and so do codecs that
        imply values for free (the gap coders' forced tails: their bound is N)."""
        return 8 * 4096 * nbytes + 4096

    def __repr__(self) -> str:
        return f"<codec {self.name} id=0x{self.codec_id:04x} section={self.section.name}>"


_BY_ID: Dict[int, Codec] = {}
_BY_NAME: Dict[str, Codec] = {}
_LOADED = False


def register(codec: Codec) -> Codec:
    """Add a codec instance.  Raises ``ValueError`` on a duplicate id or name."""
    if not 0 <= codec.codec_id <= 0xFFFF:
        raise ValueError(f"codec id {codec.codec_id} does not fit in u16")
    if codec.codec_id in _BY_ID:
        raise ValueError(f"codec id 0x{codec.codec_id:04x} already registered by {_BY_ID[codec.codec_id]!r}")
    if codec.name in _BY_NAME:
        raise ValueError(f"codec name {codec.name!r} already registered by {_BY_NAME[codec.name]!r}")
    _BY_ID[codec.codec_id] = codec
    _BY_NAME[codec.name] = codec
    return codec


def _ensure_loaded() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from . import codecs  # noqa: F401  (importing the package registers the built-in codecs)


def codec_kind(section: SectionType) -> SectionType:
    """The codec kind that serves a wire section type (CLASS_NAMES and META use BYTES codecs)."""
    if section in (SectionType.CLASS_NAMES, SectionType.META):
        return SectionType.BYTES
    return section


def get_by_id(codec_id: int, section: SectionType) -> Codec:
    _ensure_loaded()
    codec = _BY_ID.get(codec_id)
    if codec is None:
        raise UnsupportedFeature(f"unknown codec id 0x{codec_id:04x} in {section.name} section")
    if codec.section != codec_kind(section):
        raise UnsupportedFeature(
            f"codec {codec.name} (0x{codec_id:04x}) codes {codec.section.name} sections, not {section.name}"
        )
    return codec


def get_by_name(name: str) -> Codec:
    _ensure_loaded()
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown codec {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def list_codecs(section: Optional[SectionType] = None) -> List[Codec]:
    """Registered codecs, by id; only those of ``section`` when given."""
    _ensure_loaded()
    return [c for _, c in sorted(_BY_ID.items()) if section is None or c.section == section]
