"""Status codes returned by kernels (they never raise).  Non-negative values are results (byte counts);
negative values are errors that ``plada_codec._ext.status.raise_for`` turns into exceptions."""
from __future__ import annotations

OK = 0
TRUNCATED = -1       # the stream ends before the declared values
BAD_FIELD = -2       # a field holds an impossible value (bit width > 32, malformed varint, bad state)
OUT_OF_RANGE = -3    # a decoded index >= N or a label >= C
NONZERO_PADDING = -4  # padding bits that the format requires to be zero are not
TRAILING = -5        # bytes left over after the last value
COUNT = -6           # the number of decoded values differs from the declared count
OVERFLOW = -7        # encoder: the ``out`` buffer is too small (the codec wrapper grows it or skips the codec)
END_STATE = -8       # arithmetic coder: the final state does not match the flushed bounds (x != x1)

_MESSAGES = {
    TRUNCATED: "stream ends before all declared values were read",
    BAD_FIELD: "stream holds an impossible field value",
    OUT_OF_RANGE: "a decoded value is out of range",
    NONZERO_PADDING: "padding bits are not zero",
    TRAILING: "bytes left over after the last value",
    COUNT: "decoded count differs from the declared count",
    OVERFLOW: "output buffer too small",
    END_STATE: "the coder's final state does not match the end of the stream",
}


def raise_for(status: int, what: str) -> None:
    """Raise the matching PladaError for a negative kernel status."""
    if status >= 0:
        return
    from ..errors import CorruptPayload, TruncatedPayload

    msg = f"{what}: {_MESSAGES.get(status, f'status {status}')}"
    if status == TRUNCATED:
        raise TruncatedPayload(msg)
    raise CorruptPayload(msg)
