"""Image pools and their identity: the canonical manifest.

A pool is an ImageFolder-style tree of images that every client already holds.  A payload's indices are
positions in the pool's *canonical manifest*, so both ends must list the same files in the same order:

* **files**: every regular file (symbolic links are followed) whose name ends, case-insensitively, with
  one of :data:`IMAGE_EXTENSIONS` (torchvision's ``IMG_EXTENSIONS``); files and folders whose name starts
  with ``'.'`` are skipped, so the manifest cache and editor/OS debris never count;
* **names**: the path relative to the root, ``/``-separated, Unicode NFC; a name holding a line break or
  a name that is not valid UTF-8 cannot be listed and raises :class:`PoolError`;
* **order**: sorted by the key ``(first folder, rest of the folder path, file name)``, each part compared
  code point by code point (files directly under the root have an empty first folder and so come first).
  For the usual layout ``root/class/file`` this is "sorted class folders, then sorted files", which is
  exactly torchvision's ``ImageFolder`` order; it is also ImageFolder's order for sub-folders inside a
  class folder (ImageFolder walks them with ``sorted(os.walk(...))``: a folder's own files before its
  sub-folders').  Plain code-point order of the whole path is *not* ImageFolder's order: ``"a b/x.png"``
  sorts before ``"a/x.png"`` because ``' ' < '/'``, while ImageFolder puts class ``a`` first;
* **bytes**: one name per line, UTF-8, ``\\n`` after every line (including the last);
  ``pool_id = SHA-256(manifest bytes)``.

Files' contents are not part of the identity: re-encoding an image keeps the pool, renaming one does not.

Manifest cache: :meth:`Pool.from_folder` stores the manifest in ``<root>/.plada-manifest.txt`` (or, when
the root is not writable, under ``$XDG_CACHE_HOME/plada_codec/manifests/``) together with, for every folder
it listed, the folder's modification time and a digest of its entry names (hidden entries excluded).  The
manifest depends only on the names inside folders, so the cache is reused when every recorded folder still
has the same names.  Checking is cheap: one ``stat`` per folder (21,842 for ImageNet-21K), not one per
file; a folder is re-listed (one ``scandir``, no recursion) only when its mtime differs from the recorded
one or lies within :data:`MTIME_SLACK_NS` of the scan (coarse file-system clocks could hide a change made
during the scan).  The root's own mtime changes when the cache is written, so the root is usually
re-listed; that costs one directory read.

>>> import numpy as np
>>> pool = Pool.from_arrays(np.zeros((3, 8, 8), np.uint8), ["cat/1.png", "cat/2.png", "dog/1.png"], "toy")
>>> len(pool), pool.group_sizes.tolist(), pool.manifest_bytes()
(3, [2, 1], b'cat/1.png\\ncat/2.png\\ndog/1.png\\n')
"""
from __future__ import annotations

import hashlib
import os
import time
import unicodedata
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import EncodeError, PoolError
from .files import atomic_output
from .identity import MAX_POOL_NAME_BYTES, PoolIdentity

#: accepted image extensions, compared case-insensitively (torchvision's IMG_EXTENSIONS)
IMAGE_EXTENSIONS: Tuple[str, ...] = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
#: the manifest cache file written inside the pool root
CACHE_FILENAME = ".plada-manifest.txt"
_CACHE_MAGIC = "# plada_codec manifest cache v1"
#: folders modified this close to (or after) the scan start make a cache entry untrustworthy
MTIME_SLACK_NS = 2_000_000_000

PathLike = Union[str, os.PathLike]


def sort_key(path: str) -> Tuple[str, str, str]:
    """The canonical order key of a manifest path: ``(first folder, rest of folder path, file name)``."""
    folder, _, name = path.rpartition("/")
    top, _, rest = folder.partition("/")
    return (top, rest, name)


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _check_name(path: str) -> str:
    if "\n" in path or "\r" in path:
        raise PoolError(f"file name {path!r} holds a line break; a manifest cannot list it")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise PoolError(f"file name {path!r} is not valid UTF-8; a manifest cannot list it") from None
    return unicodedata.normalize("NFC", path)


def check_manifest(paths: Sequence[str]) -> None:
    """Raise :class:`PoolError` unless ``paths`` is a canonical manifest (valid names, canonical order,
    no duplicates, at least one entry)."""
    if len(paths) == 0:
        raise PoolError("the pool holds no images")
    prev = None
    for i, p in enumerate(paths):
        if not p or p.startswith("/") or p.endswith("/") or "//" in p:
            raise PoolError(f"manifest line {i + 1}: {p!r} is not a relative file path")
        if _check_name(p) != p:
            raise PoolError(f"manifest line {i + 1}: {p!r} is not in Unicode NFC")
        key = sort_key(p)
        if prev is not None and key <= prev:
            what = "repeats" if key == prev else "is out of canonical order after"
            raise PoolError(f"manifest line {i + 1}: {p!r} {what} {paths[i - 1]!r}")
        prev = key


def manifest_bytes_of(paths: Iterable[str]) -> bytes:
    return "".join(p + "\n" for p in paths).encode("utf-8")


def parse_manifest(data: bytes, source: str = "manifest") -> List[str]:
    """Split canonical manifest bytes into paths, checking the encoding, line ends and order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoolError(f"{source} is not UTF-8 (byte {exc.start})") from None
    if not text.endswith("\n"):
        raise PoolError(f"{source} does not end with a line feed")
    if "\r" in text:
        raise PoolError(f"{source} holds carriage returns; lines must end with LF only")
    paths = text[:-1].split("\n")
    check_manifest(paths)
    return paths


# --------------------------------------------------------------------------------------------- scanning


def _list_folder(full: str):
    """Non-hidden entries of one folder and the digest of their names (a trailing '/' marks folders)."""
    with os.scandir(full) as it:
        entries = [e for e in it if not e.name.startswith(".")]
    marks = []
    for e in entries:
        try:
            marks.append(e.name + ("/" if e.is_dir() else ""))
        except OSError:
            marks.append(e.name)
    marks.sort()
    digest = hashlib.sha256("\0".join(marks).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return entries, digest


def _scan(root: str) -> Tuple[List[str], List[Tuple[str, int, str]]]:
    """Walk ``root``; return (canonical manifest paths, [(folder relpath, mtime_ns, names digest), ...])."""
    paths: List[str] = []
    folders: List[Tuple[str, int, str]] = []
    seen = set()
    stack = [("", root)]
    while stack:
        rel, full = stack.pop()
        try:
            real = os.path.realpath(full)
            if real in seen:  # a symlink loop or a folder linked twice: list it once
                continue
            seen.add(real)
            mtime = os.stat(full).st_mtime_ns
            entries, digest = _list_folder(full)
        except OSError as exc:
            raise PoolError(f"cannot list {full}: {exc.strerror or exc}") from None
        folders.append((rel, mtime, digest))
        for e in entries:
            name = e.name
            child = f"{rel}/{name}" if rel else name
            try:
                if e.is_dir():  # follows symlinks, like ImageFolder's os.walk(followlinks=True)
                    stack.append((child, e.path))
                elif is_image_name(name) and e.is_file():
                    paths.append(_check_name(child))
            except OSError:
                continue  # vanished or unreadable entry: not a regular file we can list
    paths.sort(key=sort_key)
    for a, b in zip(paths, paths[1:]):
        if a == b:  # two names that differ only in normalisation (NFC vs NFD)
            raise PoolError(f"two files normalise to the same NFC name {a!r}")
    return paths, folders


def _user_cache_file(root: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(base) / "plada_codec" / "manifests" / f"{digest}.txt"


def _read_cache(cache_file: Path, root: str) -> Optional[List[str]]:
    """The cached manifest when still valid, else None (a damaged cache is ignored, not an error)."""
    try:
        data = cache_file.read_bytes()
    except OSError:
        return None
    try:
        header, sep, body = data.partition(b"\n\n")
        lines = header.decode("utf-8", "surrogateescape").split("\n")
        if not sep or lines[0] != _CACHE_MAGIC or not lines[1].startswith("scanned_ns "):
            return None
        scanned_ns = int(lines[1].split(" ", 1)[1])
        if not lines[2].startswith("manifest_sha256 "):
            return None
        if hashlib.sha256(body).hexdigest() != lines[2].split(" ", 1)[1]:
            return None  # a torn or edited cache file
        for line in lines[3:]:
            _, mtime_s, digest, rel = line.split(" ", 3)
            full = os.path.join(root, rel) if rel != "." else root
            mtime = os.stat(full).st_mtime_ns
            if mtime != int(mtime_s) or mtime >= scanned_ns - MTIME_SLACK_NS:
                if _list_folder(full)[1] != digest:
                    return None
        # the body is what _write_cache wrote (its SHA-256 matched): skip re-checking 14 M names
        return body.decode("utf-8")[:-1].split("\n") if body else None
    except (OSError, ValueError, IndexError, PoolError):
        return None


def _write_cache(cache_file: Path, paths: List[str], folders, scanned_ns: int) -> bool:
    body = manifest_bytes_of(paths)
    header = [_CACHE_MAGIC, f"scanned_ns {scanned_ns}", f"manifest_sha256 {hashlib.sha256(body).hexdigest()}"]
    for rel, mtime, digest in sorted(folders):
        if "\n" in rel:
            return False
        header.append(f"dir {mtime} {digest} {rel or '.'}")
    data = ("\n".join(header) + "\n\n").encode("utf-8", "surrogateescape") + body
    try:
        _atomic_write(cache_file, data, mkdir=True)
        return True
    except OSError:
        return False


def _atomic_write(path: Path, data: bytes, mkdir: bool = False) -> None:
    with atomic_output(path, mkdir) as f:
        f.write(data)


# ------------------------------------------------------------------------------------------------ Pool


class Pool:
    """An image pool: the canonical list of its images, their identity and a way to load each one.

    Build one with :meth:`from_folder`, :meth:`from_manifest` or :meth:`from_arrays` (in memory, for
    tests).  ``pool.identity`` is what payloads carry; ``pool.group_sizes`` (images per folder) lets
    codecs use the folder structure.
    """

    def __init__(self, paths: List[str], name: str, root: Optional[str] = None,
                 images: Optional[np.ndarray] = None, _checked: bool = False):
        if not _checked:
            check_manifest(paths)
        if len(name.encode("utf-8")) > MAX_POOL_NAME_BYTES:
            raise PoolError(f"pool name {name[:40]!r}... is longer than {MAX_POOL_NAME_BYTES} UTF-8 bytes")
        self.paths: List[str] = list(paths)
        self.name = name
        self.root = root
        #: uint8 array (n, H, W[, C]) for an in-memory pool, else None
        self.images = images
        self._manifest: Optional[bytes] = None
        self._identity: Optional[PoolIdentity] = None
        self._groups: Optional[np.ndarray] = None

    # ----- constructors

    @classmethod
    def from_folder(cls, root: PathLike, name: Optional[str] = None, cache: Union[bool, PathLike] = True,
                    progress: bool = False) -> "Pool":
        """Scan ``root`` (or reuse its manifest cache, see the module docstring).

        ``cache``: True (default) uses ``<root>/.plada-manifest.txt`` or the user cache dir, a path uses
        that file, False always rescans and writes nothing.  ``name`` defaults to the root folder's name.
        """
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise PoolError(f"pool root {root} is not a folder")
        if name is None:
            name = os.path.basename(os.path.abspath(root).rstrip(os.sep)) or "pool"
        candidates: List[Path] = []
        if cache is True:
            candidates = [Path(root) / CACHE_FILENAME, _user_cache_file(root)]
        elif cache:
            candidates = [Path(cache)]
        for c in candidates:
            paths = _read_cache(c, root)
            if paths is not None:
                return cls(paths, name, root=root, _checked=True)
        scanned_ns = time.time_ns()
        paths, folders = _scan(root)
        if not paths:
            raise PoolError(f"no images under {root} (accepted extensions: {' '.join(IMAGE_EXTENSIONS)})")
        for c in candidates:
            if _write_cache(c, paths, folders, scanned_ns):
                break
        return cls(paths, name, root=root, _checked=True)

    @classmethod
    def from_manifest(cls, path: PathLike, root: PathLike, name: Optional[str] = None) -> "Pool":
        """Read a canonical manifest file (as written by :meth:`write_manifest`) for the tree at ``root``.
        Files are not checked to exist until they are loaded."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise PoolError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
        paths = parse_manifest(data, str(path))
        root = os.fspath(root)
        if name is None:
            name = os.path.basename(os.path.abspath(root).rstrip(os.sep)) or "pool"
        return cls(paths, name, root=root, _checked=True)

    @classmethod
    def from_arrays(cls, images, manifest: Optional[Sequence[str]] = None, name: str = "memory") -> "Pool":
        """An in-memory pool: ``images`` uint8 (n, H, W) or (n, H, W, C) in manifest order.

        ``manifest`` must be canonical (see the module docstring); by default ``00000000.png``, ... .
        """
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise PoolError(f"images must be a uint8 array (n, H, W[, C]), got {images.dtype} {images.shape}")
        n = len(images)
        if manifest is None:
            manifest = [f"{i:08d}.png" for i in range(n)]
        manifest = list(manifest)
        if len(manifest) != n:
            raise PoolError(f"{n} images but {len(manifest)} manifest names")
        return cls(manifest, name, images=images)

    # ----- identity

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"<Pool {self.identity.describe()}>"

    def manifest_bytes(self) -> bytes:
        if self._manifest is None:
            self._manifest = manifest_bytes_of(self.paths)
        return self._manifest

    @property
    def identity(self) -> PoolIdentity:
        if self._identity is None:
            digest = hashlib.sha256(self.manifest_bytes()).digest()
            try:
                self._identity = PoolIdentity(self.name, len(self.paths), digest)
            except EncodeError as exc:
                raise PoolError(str(exc)) from None
        return self._identity

    @property
    def group_sizes(self) -> np.ndarray:
        """Images per folder (runs of equal folder part of the manifest paths), int64, sums to len(pool)."""
        if self._groups is None:
            folders = [p.rpartition("/")[0] for p in self.paths]
            starts = [0] + [i for i in range(1, len(folders)) if folders[i] != folders[i - 1]]
            self._groups = np.diff(np.array(starts + [len(folders)], dtype=np.int64))
        return self._groups

    @property
    def group_names(self) -> List[str]:
        """The folder of each group, in order ('' for files directly under the root)."""
        sizes = self.group_sizes
        firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return [self.paths[i].rpartition("/")[0] for i in firsts]

    def write_manifest(self, path: PathLike) -> None:
        """Write the canonical manifest bytes to ``path`` (atomically)."""
        _atomic_write(Path(path), self.manifest_bytes())

    # ----- images

    def file_path(self, i: int) -> str:
        if self.root is None:
            raise PoolError("an in-memory pool has no files")
        return os.path.join(self.root, *self.paths[i].split("/"))

    def load_array(self, i: int) -> np.ndarray:
        """Image ``i`` as a uint8 array (H, W) or (H, W, C)."""
        if self.images is not None:
            return self.images[i]
        return np.asarray(self.load_image(i))

    def load_image(self, i: int, min_size: Optional[int] = None):
        """Image ``i`` as a PIL image (mode as stored; the torch view converts to RGB).

        ``min_size``: the caller only needs this many pixels per side; JPEGs are then decoded at a
        reduced scale (PIL ``draft``: 1/2, 1/4 or 1/8, keeping both sides >= ``min_size``), several
        times faster on large photos such as ImageNet's.
        """
        from PIL import Image

        if self.images is not None:
            return Image.fromarray(self.images[i])
        path = self.file_path(i)
        try:
            with open(path, "rb") as f:
                img = Image.open(f)
                if min_size and img.format == "JPEG":
                    img.draft(img.mode, (min_size, min_size))
                img.load()
            return img
        except (OSError, SyntaxError, ValueError) as exc:
            raise PoolError(f"cannot load pool image {i} ({self.paths[i]}): {exc}") from None


__all__ = [
    "Pool",
    "IMAGE_EXTENSIONS",
    "CACHE_FILENAME",
    "sort_key",
    "check_manifest",
    "parse_manifest",
    "manifest_bytes_of",
]
