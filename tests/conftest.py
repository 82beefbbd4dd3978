"""Shared fixtures for the whole test suite.

* ``backend``: runs a test once per kernel backend ("numba", "reference"), cbor2-style, by setting
  ``PLADA_CODEC_BACKEND`` (read by :func:`plada_codec._ext.kernel` on every call).
* ``corpus_dir``: ../shared/corpus/public when it exists (tests that need it skip otherwise).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS_CANDIDATES = [
    Path(os.environ["PLADA_CORPUS"]) if os.environ.get("PLADA_CORPUS") else None,
    REPO.parent / "shared" / "corpus" / "public",
    REPO / "shared" / "corpus" / "public",
]

try:  # hypothesis profiles: "ci" (default) keeps the suite fast on a 2-core machine
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", deadline=None, max_examples=60,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("thorough", deadline=None, max_examples=1000,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover - hypothesis is a test extra
    pass


@pytest.fixture(params=["numba", "reference"])
def backend(request, monkeypatch):
    """Select a kernel backend for the duration of one test; yields its name."""
    from plada_codec import _ext

    monkeypatch.setenv("PLADA_CODEC_BACKEND", request.param)
    # kernel() reads the variable on each call; the per-(topic, backend) module cache stays valid, but
    # clear it anyway so a test never sees a module imported under another setting.
    _ext._module.cache_clear()
    yield request.param
    _ext._module.cache_clear()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    for cand in CORPUS_CANDIDATES:
        if cand is not None and cand.is_dir():
            return cand
    pytest.skip("payload corpus (../shared/corpus/public) not present")
