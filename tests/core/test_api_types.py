"""Caller mistakes at the API surface are reported with the error tree, never as corruption."""
import pytest

import plada_codec
from plada_codec import DecodeError, EncodeError, PoolError


@pytest.fixture(scope="module")
def blob():
    return plada_codec.encode([1, 2], [0, 0], pool_size=3, num_classes=1)


@pytest.mark.parametrize("bad", ["text", 12, None, [1, 2]])
def test_decode_rejects_non_bytes(bad):
    with pytest.raises(DecodeError, match="expects bytes"):
        plada_codec.decode(bad)


def test_decode_rejects_a_pool_of_the_wrong_type(blob):
    with pytest.raises(PoolError, match="Pool or PoolIdentity"):
        plada_codec.decode(blob, pool="my-pool")


def test_decode_rejects_limits_of_the_wrong_type(blob):
    with pytest.raises(DecodeError, match="Limits"):
        plada_codec.decode(blob, limits={"max_kept": 1})


def test_encode_rejects_a_pool_of_the_wrong_type():
    with pytest.raises(EncodeError, match="Pool or PoolIdentity"):
        plada_codec.encode([1], [0], pool_size=3, num_classes=1, pool=object())


def test_bytearray_and_memoryview_decode_like_bytes(blob):
    for form in (bytearray(blob), memoryview(blob)):
        assert plada_codec.decode(form).indices.tolist() == [1, 2]
