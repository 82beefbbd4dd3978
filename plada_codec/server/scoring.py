"""Score every pool image with a teacher: energy, entropy, max probability, argmax label.

Per pool image ``x`` with teacher logits ``z = f(x)`` (C classes):

* ``energy   = -T * logsumexp(z / T)`` with temperature ``T`` (default :data:`DEFAULT_TEMPERATURE` = 1,
  the paper's implied value; lower energy = more confident = more in-domain);
* ``entropy  = -sum p log p`` with ``p = softmax(z)`` (natural log, T = 1);
* ``max_prob = max p``;
* ``label    = argmax z`` (ties: lowest class).

Shards.  The pool is cut into chunks of ``chunk_size`` consecutive images (default 65,536; the last one
shorter); chunk ``j`` covers ``[j * chunk_size, min(N, (j + 1) * chunk_size))`` and is written to
``<out>/scores-<start>-<stop>.npz`` (10-digit zero-padded) atomically (temporary file + rename), with
the pool identity, the teacher id and the temperature inside.  ``--shard i/n`` scores the chunks
``[i*J/n, (i+1)*J/n)`` of the J chunks, so the files do not depend on ``n`` and a re-run (with any ``n``)
skips every chunk already on disk: scoring is resumable.  Under ``torchrun`` the shard is
``RANK/WORLD_SIZE`` from the environment.  :func:`merge` reads a folder of chunk files and checks they
tile ``[0, N)`` exactly once (gap, overlap), for one pool and one teacher.

>>> import numpy as np
>>> t = scores_from_logits(np.array([[2.0, 0.0], [0.0, 0.0]]))
>>> t["label"].tolist(), np.round(t["energy"], 3).tolist()
([0, 0], [-2.127, -0.693])
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError, PladaError, PoolMismatch, UsageError
from ..files import atomic_output
from ..identity import PoolIdentity, as_identity

DEFAULT_TEMPERATURE = 1.0
DEFAULT_CHUNK_SIZE = 65536
SCORE_FIELDS = ("energy", "entropy", "max_prob", "label")
_CHUNK_RE = re.compile(r"^scores-(\d{10})-(\d{10})\.npz$")
FORMAT_VERSION = 1


def scores_from_logits(logits, temperature: float = DEFAULT_TEMPERATURE) -> Dict[str, np.ndarray]:
    """The four score fields of a (n, C) logit array (computed in float64, stored float32/int32)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 1:
        raise PladaError(f"logits must be (n, C), got {z.shape}")
    if not temperature > 0:
        raise PladaError(f"temperature must be > 0, got {temperature}")
    zt = z / temperature
    m = zt.max(axis=1, keepdims=True)
    energy = -temperature * (m[:, 0] + np.log(np.exp(zt - m).sum(axis=1)))
    m1 = z.max(axis=1, keepdims=True)
    e = np.exp(z - m1)
    p = e / e.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    return {
        "energy": energy.astype(np.float32),
        "entropy": (-plogp.sum(axis=1)).astype(np.float32),
        "max_prob": p.max(axis=1).astype(np.float32),
        "label": z.argmax(axis=1).astype(np.int32),
    }


@dataclass
class ScoreTable:
    """Scores of pool images ``[start, stop)`` (a whole pool after :func:`merge`: start 0, stop N)."""

    pool: PoolIdentity
    teacher_id: str
    temperature: float
    num_classes: int
    start: int
    stop: int
    energy: np.ndarray
    entropy: np.ndarray
    max_prob: np.ndarray
    label: np.ndarray
    class_names: Optional[List[str]] = None

    @property
    def size(self) -> int:
        return self.stop - self.start

    def describe(self) -> str:
        return (f"scores [{self.start}, {self.stop}) of pool {self.pool.describe()}, teacher {self.teacher_id}, "
                f"T={self.temperature:g}, C={self.num_classes}")

    def save(self, path) -> None:
        """Write an ``.npz`` atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "pool_name": np.array(self.pool.name),
            "pool_size": np.array(self.pool.size, dtype=np.int64),
            "pool_sha256": np.frombuffer(bytes(self.pool.sha256), dtype=np.uint8),
            "teacher_id": np.array(self.teacher_id),
            "temperature": np.array(self.temperature, dtype=np.float64),
            "num_classes": np.array(self.num_classes, dtype=np.int64),
            "start": np.array(self.start, dtype=np.int64),
            "stop": np.array(self.stop, dtype=np.int64),
            "energy": np.asarray(self.energy, np.float32),
            "entropy": np.asarray(self.entropy, np.float32),
            "max_prob": np.asarray(self.max_prob, np.float32),
            "label": np.asarray(self.label, np.int32),
        }
        if self.class_names is not None:
            arrays["class_names"] = np.array(self.class_names, dtype=str)
        with atomic_output(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path) -> "ScoreTable":
        """Read a score file; :class:`InputError` when it is missing or is not a score file."""
        if not os.path.exists(path):
            raise InputError(f"score file {path} does not exist")
        not_scores = InputError(f"{path} is not a score file (written by score/merge)")
        try:
            z = np.load(path, allow_pickle=False)
        except OSError as exc:
            raise InputError(f"cannot read score file {path}: {exc.strerror or exc}") from None
        except (ValueError, EOFError, zipfile.BadZipFile):  # numpy's words for "not an .npy/.npz file"
            raise not_scores from None
        if not isinstance(z, np.lib.npyio.NpzFile):  # a plain .npy array
            raise not_scores
        try:
            with z:
                if int(z["format_version"]) != FORMAT_VERSION:
                    raise InputError(f"{path}: score file version {int(z['format_version'])} is not {FORMAT_VERSION}")
                pool = PoolIdentity(str(z["pool_name"]), int(z["pool_size"]), z["pool_sha256"].tobytes())
                table = cls(pool=pool, teacher_id=str(z["teacher_id"]), temperature=float(z["temperature"]),
                            num_classes=int(z["num_classes"]), start=int(z["start"]), stop=int(z["stop"]),
                            energy=z["energy"], entropy=z["entropy"], max_prob=z["max_prob"], label=z["label"],
                            class_names=[str(s) for s in z["class_names"]] if "class_names" in z else None)
        except PladaError:
            raise
        except OSError as exc:
            raise InputError(f"cannot read score file {path}: {exc.strerror or exc}") from None
        except (KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile):  # a field missing or malformed
            raise not_scores from None
        n = table.size
        if not 0 <= table.start <= table.stop <= pool.size or any(
                len(getattr(table, f)) != n for f in SCORE_FIELDS):
            raise InputError(f"{path}: inconsistent score file (range [{table.start}, {table.stop}), N={pool.size})")
        if n and (table.label.min() < 0 or table.label.max() >= table.num_classes):
            raise InputError(f"{path}: labels outside [0, {table.num_classes})")
        return table

    def check_pool(self, pool) -> None:
        """Raise :class:`PoolMismatch` naming both pools unless ``pool`` is the scored pool."""
        ident = as_identity(pool)
        if ident is not None and (ident.size != self.pool.size or bytes(ident.sha256) != bytes(self.pool.sha256)):
            raise PoolMismatch(f"the scores are for pool {self.pool.describe()}, but the given pool is {ident.describe()}")


# --------------------------------------------------------------------------------------------- sharding


def chunk_ranges(n: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> List[Tuple[int, int]]:
    if chunk_size < 1:
        raise PladaError(f"chunk size must be >= 1, got {chunk_size}")
    return [(a, min(n, a + chunk_size)) for a in range(0, n, chunk_size)]


def shard_chunks(n: int, shard: int, num_shards: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> List[Tuple[int, int]]:
    """The chunks shard ``shard`` of ``num_shards`` scores (contiguous; every chunk in exactly one shard)."""
    if not 0 <= shard < num_shards:
        raise PladaError(f"shard {shard}/{num_shards}: need 0 <= i < n")
    chunks = chunk_ranges(n, chunk_size)
    j = len(chunks)
    return chunks[shard * j // num_shards:(shard + 1) * j // num_shards]


def parse_shard(text: str) -> Tuple[int, int]:
    """``"i/n"`` -> (i, n)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise UsageError(f"--shard {text!r}: expected i/n with 0 <= i < n, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def shard_from_env() -> Tuple[int, int]:
    """(RANK, WORLD_SIZE) as set by torchrun, (0, 1) otherwise."""
    try:
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise PladaError("RANK / WORLD_SIZE in the environment are not integers") from None


def chunk_path(out_dir, start: int, stop: int) -> Path:
    return Path(out_dir) / f"scores-{start:010d}-{stop:010d}.npz"


def list_chunks(out_dir) -> List[Tuple[int, int, Path]]:
    out = []
    for p in Path(out_dir).iterdir():
        m = _CHUNK_RE.match(p.name)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), p))
    return sorted(out)


# ---------------------------------------------------------------------------------------------- teacher id


def teacher_id(model) -> str:
    """A short stable id of a torch model's weights: SHA-256 over its state dict (names, dtypes, shapes,
    bytes), first 16 hex digits."""
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ scoring


def score(teacher, pool, out_dir, *, teacher_id_: Optional[str] = None, temperature: float = DEFAULT_TEMPERATURE,
          shard: Optional[Tuple[int, int]] = None, chunk_size: int = DEFAULT_CHUNK_SIZE, batch_size: int = 256,
          num_workers: int = 0, device=None, transform=None, class_names: Optional[Sequence[str]] = None,
          progress: bool = True) -> Dict:
    """Score the chunks of ``shard`` (default: RANK/WORLD_SIZE from the environment, else the whole pool)
    of ``pool`` with ``teacher`` (any ``torch.nn.Module`` mapping an image batch to logits) into
    ``out_dir``.  Chunks already on disk are skipped after checking they belong to this pool and teacher.

    The teacher is moved to ``device`` in channels-last memory format (in place, as ``Module.to`` does).

    Returns ``{"scored": images scored now, "skipped": images found done, "seconds", "images_per_s",
    "chunks": [paths]}``.
    """
    import time

    from torch.utils.data import Subset

    from ..torch_data import PoolDataset
    from ..training import predict_logits, progress_bar, resolve_device

    ident = as_identity(pool)
    tid = teacher_id_ or teacher_id(teacher)
    rank, world = shard if shard is not None else shard_from_env()
    chunks = shard_chunks(len(pool), rank, world, chunk_size)
    if not 0 < temperature < math.inf:
        raise UsageError(f"temperature must be > 0 and finite, got {temperature}")
    dev = resolve_device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # after every check: a refused run leaves no empty folder
    dataset = PoolDataset(pool, transform)
    import torch

    teacher = teacher.to(dev, memory_format=torch.channels_last).eval()  # NHWC: ~30 % faster convs on CPU
    done, todo = [], []
    for a, b in chunks:
        path = chunk_path(out_dir, a, b)
        if path.exists():
            t = ScoreTable.load(path)
            _check_same_run(t, ident, tid, temperature, str(path))
            done.append((a, b, path))
        else:
            todo.append((a, b, path))
    scored, seconds = 0, 0.0
    total = sum(b - a for a, b, _ in todo)
    bar = progress_bar(total=total, desc=f"score {rank}/{world}", enabled=progress, unit="img")
    for a, b, path in todo:
        t0 = time.perf_counter()
        logits = predict_logits(teacher, Subset(dataset, range(a, b)), batch_size=batch_size, device=dev,
                                num_workers=num_workers, channels_last=True).numpy()
        fields = scores_from_logits(logits, temperature)
        ScoreTable(pool=ident, teacher_id=tid, temperature=float(temperature), num_classes=int(logits.shape[1]),
                   start=a, stop=b, class_names=list(class_names) if class_names else None, **fields).save(path)
        seconds += time.perf_counter() - t0
        scored += b - a
        bar.update(b - a)
    bar.close()
    return {
        "scored": scored,
        "skipped": sum(b - a for a, b, _ in done),
        "seconds": seconds,
        "images_per_s": scored / seconds if seconds > 0 else None,
        "chunks": [str(p) for _, _, p in done + todo],
        "shard": (rank, world),
        "teacher_id": tid,
    }


def _check_same_run(t: ScoreTable, ident: Optional[PoolIdentity], tid: Optional[str], temperature: Optional[float],
                    where: str) -> None:
    if ident is not None and (t.pool.size != ident.size or bytes(t.pool.sha256) != bytes(ident.sha256)):
        raise PoolMismatch(f"{where} holds scores of pool {t.pool.describe()}, not of pool {ident.describe()}")
    if tid is not None and t.teacher_id != tid:
        raise PladaError(f"{where} holds scores of teacher {t.teacher_id}, not of teacher {tid}")
    if temperature is not None and t.temperature != float(temperature):
        raise PladaError(f"{where} was scored with temperature {t.temperature:g}, not {float(temperature):g}")


def merge(inputs, pool=None, teacher_id_: Optional[str] = None) -> ScoreTable:
    """Merge chunk files (a folder, or a list of files/folders) into one table covering ``[0, N)``.

    Raises :class:`PladaError` on a gap, an overlap, files of another teacher or temperature, and
    :class:`PoolMismatch` on files of another pool (or of a pool other than ``pool`` when given).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files: List[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            files += [p for _, _, p in list_chunks(item)]
        elif item.exists():
            files.append(item)
        else:
            raise InputError(f"score file or folder {item} does not exist")
    if not files:
        raise InputError(f"no score files (scores-*.npz) in {', '.join(str(i) for i in inputs)}")
    tables = [ScoreTable.load(p) for p in files]
    first = tables[0]
    ident = as_identity(pool) or first.pool
    for t, p in zip(tables, files):
        _check_same_run(t, ident, teacher_id_ or first.teacher_id, first.temperature, str(p))
        if t.num_classes != first.num_classes:
            raise PladaError(f"{p} has {t.num_classes} classes, {files[0]} has {first.num_classes}")
    order = sorted(range(len(tables)), key=lambda i: (tables[i].start, tables[i].stop))
    pos = 0
    for i in order:
        t = tables[i]
        if t.start > pos:
            raise PladaError(f"scores miss pool images [{pos}, {t.start}) (gap before {files[i].name})")
        if t.start < pos:
            raise PladaError(f"pool images [{t.start}, {min(pos, t.stop)}) are scored twice ({files[i].name} overlaps)")
        pos = t.stop
    n = ident.size
    if pos != n:
        raise PladaError(f"scores miss pool images [{pos}, {n}) (the last file ends at {pos})")
    parts = [tables[i] for i in order]
    names = next((t.class_names for t in parts if t.class_names), None)
    return ScoreTable(pool=ident, teacher_id=first.teacher_id, temperature=first.temperature,
                      num_classes=first.num_classes, start=0, stop=n,
                      class_names=names, **{f: np.concatenate([getattr(t, f) for t in parts]) for f in SCORE_FIELDS})


def load_scores(path, pool=None) -> ScoreTable:
    """A merged score table from an ``.npz`` written by :func:`merge` (or a folder of chunks, merged now)."""
    path = Path(path)
    if path.is_dir():
        return merge(path, pool)
    t = ScoreTable.load(path)
    if t.start != 0 or t.stop != t.pool.size:
        raise InputError(f"{path} covers [{t.start}, {t.stop}) only; merge the chunks of the whole pool first")
    t.check_pool(pool)
    return t


__all__ = ["ScoreTable", "score", "merge", "load_scores", "scores_from_logits", "teacher_id", "chunk_ranges",
           "shard_chunks", "parse_shard", "shard_from_env", "DEFAULT_TEMPERATURE", "DEFAULT_CHUNK_SIZE"]
