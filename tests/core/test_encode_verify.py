"""encode(verify=True) decodes its own payload before returning it: a codec whose decoder disagrees with
its encoder must raise EncodeError, on the sequential path and on the threaded one (k >= 50,000, where
the label stream is decoded beside the index stream against the indices it was encoded with)."""
from __future__ import annotations

import numpy as np
import pytest

import plada_codec
from plada_codec.errors import EncodeError
from plada_codec.registry import get_by_name


@pytest.fixture(params=[1_000, 60_000], ids=["sequential", "threaded"])
def payload(request):
    rng = np.random.default_rng(5)
    n = 20 * request.param
    idx = np.sort(rng.choice(n, size=request.param, replace=False)).astype(np.int64)
    lab = rng.integers(0, 100, size=idx.size).astype(np.int64)
    return idx, lab, n


CHOICE = {"indices": "geometric-gaps", "labels": "uniform-labels"}


def test_verified_encode_round_trips(payload):
    idx, lab, n = payload
    for threads in (1, 2):
        p = plada_codec.decode(plada_codec.encode(idx, lab, pool_size=n, num_classes=100, codec=CHOICE,
                                                  threads=threads))
        np.testing.assert_array_equal(p.indices, idx)
        np.testing.assert_array_equal(p.labels, lab)


@pytest.mark.parametrize("section", ["indices", "labels"])
def test_a_decoder_that_disagrees_is_caught(payload, section, monkeypatch):
    idx, lab, n = payload
    codec = get_by_name(CHOICE[section])
    real = type(codec).decode

    def wrong(self, data, ctx):
        out = np.array(real(self, data, ctx))
        if section == "indices":  # one index moved up by one: still strictly increasing and in [0, N)
            j = int(np.flatnonzero(np.diff(np.append(out, n)) > 1)[-1])
            out[j] += 1
        else:
            out[0] = (out[0] + 1) % 100
        return out

    monkeypatch.setattr(type(codec), "decode", wrong)
    for threads in (1, 2):
        with pytest.raises(EncodeError, match="round-trip|own checks"):
            plada_codec.encode(idx, lab, pool_size=n, num_classes=100, codec=CHOICE, threads=threads)
