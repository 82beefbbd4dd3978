"""Writing output files: the target checked up front, then written whole or not at all."""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
from typing import Optional

from .errors import UsageError


def output_problem(path: str) -> Optional[OSError]:
    """Why ``path`` cannot receive an output file (empty, a folder, or in a missing folder), as the
    ``OSError`` to raise; None when it can.  Checked before any work, so a bad target costs nothing."""
    if not path:
        return FileNotFoundError(errno.ENOENT, "the output path is empty")
    if os.path.isdir(path):
        return IsADirectoryError(errno.EISDIR, f"{path} is a folder; give a file path")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        return FileNotFoundError(errno.ENOENT, f"cannot write {path}: folder {folder} does not exist")
    return None


def check_output(path: str, option: str = "--output") -> None:
    """A command's output option: a bad path is a :class:`UsageError` (exit 2) naming ``option``, raised
    before any work, so nothing is computed for nothing and no temporary file is left."""
    problem = output_problem(path)
    if problem is not None:
        raise UsageError(f"{option}: {problem.strerror}")


#: numbers the temporary files of one process, so two writers (threads) never share one
_TEMP_SERIAL = itertools.count()


@contextlib.contextmanager
def atomic_output(path, mkdir: bool = False, **open_kwargs):
    """A file that replaces ``path`` only when the block ends without error, so readers never see a
    half-written file: it is written beside it under a hidden temporary name (created exclusively, unique
    per process and call), removed on any failure, and errors name ``path``, never the temporary name.
    Text mode when ``encoding`` is given, else binary; ``mkdir`` creates the parent folders first."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{next(_TEMP_SERIAL)}.tmp")
    try:
        if mkdir and folder:
            os.makedirs(folder, exist_ok=True)
        f = open(tmp, "x" if "encoding" in open_kwargs else "xb", **open_kwargs)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
        raise
