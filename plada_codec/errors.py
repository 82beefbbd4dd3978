"""One error tree for everything plada_codec raises.

Every class derives from :class:`PladaError`; where a standard exception fits, the class derives from it
too (``ValueError``, ``EOFError``), so callers may catch either.  Nothing else escapes
:func:`plada_codec.decode`.
"""
from __future__ import annotations


class PladaError(Exception):
    """Base of every error raised by plada_codec."""


class EncodeError(PladaError, ValueError):
    """The caller's input cannot be encoded (bad indices, labels, sizes or options)."""


class DecodeError(PladaError, ValueError):
    """A payload could not be decoded.  Base of the decode-side errors below."""


class TruncatedPayload(DecodeError, EOFError):
    """The payload ends before a structure it declares (header, table, section, trailer)."""


class CorruptPayload(DecodeError):
    """The bytes contradict the format: bad magic, digest mismatch, inconsistent fields, invalid stream."""


class UnsupportedFeature(DecodeError):
    """A valid-looking payload uses something this reader does not know: a newer major version,
    an unknown critical section or an unknown codec id.  The message names it."""


class LimitExceeded(DecodeError):
    """A declared count or size is larger than the limits the caller allowed (see :class:`Limits`)."""


class PoolMismatch(PladaError, ValueError):
    """The payload was built for another pool (or needs a pool that was not given).
    The message names both pools."""


class PoolError(PladaError, ValueError):
    """A pool folder or manifest cannot be read or is inconsistent."""


class UsageError(PladaError, ValueError):
    """A command's option or argument has a value it cannot take (``--fraction 1.5``, an unavailable
    ``--device``, an option that needs another one).  The command line exits with status 2."""


class InputError(PladaError, ValueError):
    """An input file or folder a command reads (teacher file, scores, training or evaluation folder,
    payload) is missing or is not what the command expects.  The command line exits with status 5."""


__all__ = [
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
