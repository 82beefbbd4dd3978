"""Ahead-of-time compiled copies of the decode kernels, so that a cold process decodes without Numba.

Why: ``import numba`` and Numba's first-call target set-up cost about 0.7-0.9 s of a fresh process,
60 times the decode itself.  A client that decodes one payload per process (``python -m plada_codec
decode``) pays that on every call.  The decode kernels are therefore also compiled ahead of time from the
*same* ``*_nb.py`` sources (``numba.pycc``) into one extension module, ``_aot.<abi>.so`` beside this
file, which imports in about a millisecond and needs only numpy at run time.

Build (explicit, never at import; ``scripts/setup.sh`` runs it after installing)::

    python -m plada_codec._ext.aot            # writes _aot.<abi>.so and _aot.json here

Use: :func:`plada_codec._ext.kernel` returns the compiled copy for the default backend ``"aot"`` when it
exists *and* its stamp matches (same kernel sources, same Python and numpy ABI); otherwise the Numba JIT
kernel, so a missing or stale build only costs start-up time.  The compiled functions do not check
argument types (a wrong dtype would read memory as the wrong type), so the wrapper below checks every
argument against :data:`SIGNATURES` and hands anything else to the JIT kernel.
"""
from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import sys
import sysconfig
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
MODULE_NAME = "_aot"
STAMP = HERE / "_aot.json"

# kernel -> (return type, argument types).  "u1" / "i8" / "u4" / "u8": a 1-d C-contiguous array of that
# dtype; "int": a Python or numpy integer (int64).
SIGNATURES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "bitmap.bitmap_decode": ("i8", ("u1", "int", "int", "i8")),
    "bitpack.unpack_bits": ("i8", ("u1", "int", "int", "int", "u8")),
    "delta_for.delta_for_decode": ("i8", ("u1", "int", "int", "int", "i8")),
    "rice.rice_decode": ("i8", ("u1", "int", "int", "int", "i8")),
    "rans.rans_decode": ("i8", ("u1", "int", "u4", "u4", "i8", "i8")),
    "adaptive.gaps_decode": ("i8", ("u1", "int", "i8")),
    "adaptive.grouped_decode": ("i8", ("u1", "i8", "i8")),
    "adaptive.density_decode": ("i8", ("u1", "int", "i8")),
    "adaptive.uniform_labels_decode": ("i8", ("u1", "int", "i8")),
    "adaptive.dirichlet_labels_decode": ("i8", ("u1", "int", "i8")),
    "geometric.geometric_decode": ("i8", ("u1", "int", "i8", "i8", "i8", "i8")),
    "adaptive.labels_decode": ("i8", ("u1", "i8", "int", "i8", "int", "i8")),
}

_DTYPES = {"u1": np.dtype(np.uint8), "i8": np.dtype(np.int64), "u4": np.dtype(np.uint32),
           "u8": np.dtype(np.uint64)}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def export_name(qualified: str) -> str:
    """``"adaptive.gaps_decode"`` -> ``"adaptive__gaps_decode"`` (the symbol in the compiled module)."""
    return qualified.replace(".", "__")


def numba_signature(qualified: str) -> str:
    ret, args = SIGNATURES[qualified]
    return f"{ret}({', '.join('i8' if a == 'int' else a + '[::1]' for a in args)})"


def source_digest() -> str:
    """SHA-256 over the kernel sources the compiled module was built from, this file included."""
    h = hashlib.sha256()
    topics = sorted({q.partition(".")[0] for q in SIGNATURES})
    for name in [f"{t}_nb.py" for t in topics] + ["status.py", "aot.py"]:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


def _abi() -> dict:
    return {"python": sys.implementation.cache_tag, "soabi": sysconfig.get_config_var("SOABI") or "",
            "numpy": np.__version__.split(".")[0]}


def _module_path() -> Optional[Path]:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        p = HERE / (MODULE_NAME + suffix)
        if p.is_file():
            return p
    return None


_loaded = None


def load():
    """The compiled module when it is built and current, else ``None`` (never raises)."""
    global _loaded
    if _loaded is None:
        _loaded = False
        try:
            path = _module_path()
            if path is not None and STAMP.is_file():
                stamp = json.loads(STAMP.read_text())
                if stamp.get("sources") == source_digest() and stamp.get("abi") == _abi():
                    spec = importlib.util.spec_from_file_location(f"{__package__}.{MODULE_NAME}", path)
                    mod = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(mod)
                    _loaded = mod
        except Exception:  # a broken build must never break decoding: the JIT kernels remain
            _loaded = False
    return _loaded or None


def _matches(args, kinds) -> bool:
    if len(args) != len(kinds):
        return False
    for a, kind in zip(args, kinds):
        if kind == "int":
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                return False
            if not _INT64_MIN <= int(a) <= _INT64_MAX:
                return False
        elif not (isinstance(a, np.ndarray) and a.dtype == _DTYPES[kind] and a.ndim == 1
                  and a.flags.c_contiguous):
            return False
    return True


def checked(qualified: str, compiled: Callable, fallback: Callable) -> Callable:
    """``compiled`` behind an argument check: calls whose types do not match ``SIGNATURES`` go to
    ``fallback`` (the JIT kernel), which handles any types Numba accepts."""
    kinds = SIGNATURES[qualified][1]
    needs_write = [i for i, k in enumerate(kinds) if k != "int"][-1]  # the last array is the output

    def call(*args):
        if _matches(args, kinds) and args[needs_write].flags.writeable:
            return compiled(*args)
        return fallback(*args)

    call.__name__ = qualified.rpartition(".")[2]
    call.__qualname__ = call.__name__
    call.__doc__ = f"ahead-of-time compiled {qualified} (argument-checked; JIT fallback)"
    call.compiled = compiled
    return call


def build(verbose: bool = True) -> Path:
    """Compile every kernel of :data:`SIGNATURES` into ``_aot.<abi>.so`` and write its stamp."""
    import importlib
    import warnings

    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC

        cc = CC(MODULE_NAME)
        cc.output_dir = str(HERE)
        cc.verbose = False
        for qualified in SIGNATURES:
            topic, _, name = qualified.partition(".")
            dispatcher = getattr(importlib.import_module(f"{__package__}.{topic}_nb"), name)
            cc.export(export_name(qualified), numba_signature(qualified))(dispatcher.py_func)
        STAMP.unlink(missing_ok=True)
        old = _module_path()
        if old is not None:
            old.unlink()
        cc.compile()
    STAMP.write_text(json.dumps({"sources": source_digest(), "abi": _abi(),
                                 "kernels": sorted(SIGNATURES)}, indent=1) + "\n")
    path = _module_path()
    if verbose:
        print(f"plada_codec: compiled {len(SIGNATURES)} decode kernels ahead of time -> {path}")
    return path


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m plada_codec._ext.aot",
                                 description="Compile the decode kernels ahead of time (numba.pycc) so "
                                             "that a cold process decodes without importing Numba. "
                                             "Needs a C compiler; takes about a minute.")
    ap.add_argument("--check", action="store_true",
                    help="only report whether a current compiled module is present (exit 1 if not)")
    args = ap.parse_args(argv)
    if args.check:
        ok = load() is not None
        print("plada_codec: ahead-of-time kernels " + ("present and current" if ok else "missing or stale"))
        return 0 if ok else 1
    try:
        build()
    except Exception as exc:  # no compiler, no numba.pycc: the JIT kernels still work
        print(f"plada_codec: ahead-of-time build failed ({type(exc).__name__}: {exc}); "
              f"decoding will use the Numba JIT kernels (slower start-up)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
