"""Kernels: Numba versions beside plain-numpy/Python references with the same signatures.

Layout: for a topic ``T`` there are two modules, ``T_nb.py`` (Numba, ``@njit(cache=True)``, compiled
lazily on first call, never at import) and ``T_ref.py`` (numpy / plain Python).  Both export the same
names, listed in the reference module's ``__all__``.  :func:`kernel` returns the implementation for the
active backend; tests enumerate :func:`topics` to check the two agree.

Kernels are written as loops that fill ``out`` arrays and return counts/status codes (numbagg style);
they never raise, the Python wrappers in ``plada_codec.codecs`` turn status codes into errors.

Backends (``PLADA_CODEC_BACKEND``): ``aot`` (default) is ``numba`` except that the decode kernels come
from the ahead-of-time compiled module when it is built and current (:mod:`.aot`: a cold process then
decodes without importing Numba); ``numba`` is the JIT kernels only; ``reference`` forces the reference
(slow, but needs no compiler).  ``NUMBA_DISABLE_JIT=1`` runs the Numba modules as Python (and disables the
compiled copies, so that the Python code is what runs).
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from functools import lru_cache
from typing import Callable, List, Optional

BACKENDS = ("aot", "numba", "reference")


def active_backend() -> str:
    backend = os.environ.get("PLADA_CODEC_BACKEND", "aot")
    if backend not in BACKENDS:
        raise ValueError(f"PLADA_CODEC_BACKEND={backend!r}; expected one of {BACKENDS}")
    return backend


@lru_cache(maxsize=None)
def _module(topic: str, backend: str):
    suffix = "_ref" if backend == "reference" else "_nb"
    return importlib.import_module(f"{__name__}.{topic}{suffix}")


@lru_cache(maxsize=None)
def _compiled(qualified: str) -> Optional[Callable]:
    """The argument-checked ahead-of-time copy of ``qualified``, or None (not a decode kernel, not built,
    stale, or NUMBA_DISABLE_JIT set).  The JIT fallback is resolved only if a call needs it, so a cold
    decode never imports Numba."""
    from . import aot

    if qualified not in aot.SIGNATURES or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return None
    mod = aot.load()
    if mod is None:
        return None
    topic, _, name = qualified.partition(".")

    def jit(*args):
        return getattr(_module(topic, "numba"), name)(*args)

    return aot.checked(qualified, getattr(mod, aot.export_name(qualified)), jit)


def kernel(qualified: str, backend: Optional[str] = None) -> Callable:
    """``kernel("bitpack.unpack_bits")`` -> the function for ``backend`` (default: the active one)."""
    backend = backend or active_backend()
    if backend == "aot":
        fn = _compiled(qualified)
        if fn is not None:
            return fn
    topic, _, name = qualified.partition(".")
    return getattr(_module(topic, backend), name)


def topics() -> List[str]:
    """Topics that have both a ``_nb`` and a ``_ref`` module."""
    names = {m.name for m in pkgutil.iter_modules(__path__)}
    return sorted(n[:-3] for n in names if n.endswith("_nb") and n[:-3] + "_ref" in names)


def kernel_names(topic: str) -> List[str]:
    return list(_module(topic, "reference").__all__)
