"""Public API: encode / decode / inspect / save / load (docs/FORMAT.md describes every byte)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import wire
from .errors import CorruptPayload, DecodeError, EncodeError, LimitExceeded, PladaError, PoolError, PoolMismatch
from .files import atomic_output, output_problem
from .identity import PoolIdentity, as_identity, check_same_pool, group_sizes_of
from .limits import DEFAULT_LIMITS, Limits
from .registry import Codec, SectionType, StreamContext, codec_kind, get_by_id, get_by_name, list_codecs

#: named codec choices; "auto" tries every candidate per section and keeps the smallest, "fast" does the
#: same among the codecs whose decoders are fast (``Codec.fast_decode``)
FAST = "fast"
PRESETS: Dict[str, Dict[str, str]] = {
    "packed": {"indices": "packed-delta", "labels": "packed-labels"},
    "static": {"indices": "rice-gaps", "labels": "rans-labels"},
}

MAX_CLASS_NAME_BYTES = 1024


@dataclass(frozen=True)
class Payload:
    """A decoded payload.  ``indices`` are sorted int64 and read-only; ``labels`` int64, read-only."""

    indices: np.ndarray
    labels: np.ndarray
    pool_size: int
    num_classes: int
    class_names: Optional[List[str]] = None
    meta: Optional[Dict[str, Any]] = None
    pool: Optional[PoolIdentity] = None
    version: Tuple[int, int] = (wire.MAJOR, wire.MINOR)
    #: (type, codec id, encoded length) of optional sections this reader did not know and skipped
    skipped_sections: List[Tuple[int, int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def label_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)


# ----------------------------------------------------------------------------------------------- encode

def _as_int_array(values, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:  # ragged or nested rows, objects numpy cannot read
        raise EncodeError(f"{what} must be a one-dimensional sequence of integers ({exc})") from None
    if arr.ndim != 1:
        raise EncodeError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise EncodeError(f"{what} must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise EncodeError(f"{what} holds a value above 2**63-1")
    return arr.astype(np.int64, copy=False)


def _validate(indices, labels, pool_size, num_classes) -> Tuple[np.ndarray, np.ndarray]:
    if isinstance(pool_size, bool) or not isinstance(pool_size, (int, np.integer)):
        raise EncodeError(f"pool_size must be an int, got {type(pool_size).__name__}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise EncodeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if not 1 <= pool_size <= 2**32 - 1:
        raise EncodeError(f"pool_size {pool_size} outside 1..2**32-1")
    if not 1 <= num_classes <= 65535:
        raise EncodeError(f"num_classes {num_classes} outside 1..65535")
    idx = _as_int_array(indices, "indices")
    lab = _as_int_array(labels, "labels")
    if idx.shape != lab.shape:
        raise EncodeError(f"{len(idx)} indices but {len(lab)} labels")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= pool_size:
            bad = lo if lo < 0 else hi
            raise EncodeError(f"index {bad} outside the pool [0, {pool_size})")
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise EncodeError(f"label {bad} outside [0, num_classes={num_classes})")
        if idx.size > 1 and not np.all(idx[1:] > idx[:-1]):
            order = np.argsort(idx, kind="stable")
            idx, lab = idx[order], lab[order]
            dup = np.flatnonzero(idx[1:] == idx[:-1])
            if dup.size:
                raise EncodeError(f"index {int(idx[dup[0]])} appears more than once")
    return np.ascontiguousarray(idx), np.ascontiguousarray(lab)


def _class_names_bytes(class_names: Sequence[str], num_classes: int) -> bytes:
    # a bare str is a Sequence too, of characters: "ab" must not become the names ["a", "b"]
    if isinstance(class_names, (str, bytes, bytearray)) or not isinstance(class_names, (Sequence, np.ndarray)):
        raise EncodeError(f"class_names must be a list of str, got {type(class_names).__name__}")
    names = list(class_names)
    if len(names) != num_classes:
        raise EncodeError(f"class_names: {len(names)} class names for num_classes={num_classes}")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            hint = " (decode bytes names to str first)" if isinstance(name, (bytes, bytearray)) else ""
            raise EncodeError(f"class_names[{i}] must be a str, got {type(name).__name__}{hint}")
        if not name:
            raise EncodeError(f"class_names[{i}] must be a non-empty string")
        if "\n" in name or "\x00" in name:
            raise EncodeError(f"class_names[{i}] ({name!r}) contains a line feed or NUL")
        if len(name.encode("utf-8")) > MAX_CLASS_NAME_BYTES:
            raise EncodeError(f"class_names[{i}] is longer than {MAX_CLASS_NAME_BYTES} UTF-8 bytes")
    return "\n".join(names).encode("utf-8")


def _meta_bytes(meta: Mapping[str, Any], limits: Limits) -> bytes:
    if not isinstance(meta, Mapping):
        raise EncodeError(f"meta must be a mapping (JSON object), got {type(meta).__name__}")
    try:
        raw = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise EncodeError(f"meta is not JSON-serialisable: {exc}") from None
    if len(raw) > limits.max_meta_bytes:
        raise EncodeError(f"meta is {len(raw)} bytes of JSON, above max_meta_bytes={limits.max_meta_bytes}")
    return raw


#: the keys of a ``codec`` mapping and the codec kind each one chooses
SECTION_KEYS = {"indices": SectionType.INDICES, "labels": SectionType.LABELS, "joint": SectionType.JOINT}


def _choices(kind: SectionType) -> str:
    """What a ``codec`` mapping accepts for ``kind`` (for error messages)."""
    names = [c.name for c in list_codecs(kind)]
    if not names:
        return f"'auto' or '{FAST}' (no {kind.name} codec is registered)"
    return f"'auto', '{FAST}' or one of: {', '.join(names)}"


def _codec_plan(codec: Union[str, Mapping[str, str]]) -> Dict[str, Optional[str]]:
    """Normalise the ``codec`` argument to {"indices": choice, "labels": choice, "joint": choice}, where a
    choice is a codec name, None (try every candidate), FAST (every fast candidate) or "" (none)."""
    if isinstance(codec, str):
        if codec == "auto":
            return {"indices": None, "labels": None, "joint": None}
        if codec == FAST:
            return {"indices": FAST, "labels": FAST, "joint": ""}
        if codec in PRESETS:
            return {**PRESETS[codec], "joint": ""}
        try:
            c = get_by_name(codec)
        except KeyError:
            joint = "".join(f", {c.name!r}" for c in list_codecs(SectionType.JOINT))
            raise EncodeError(f"unknown codec {codec!r}; codec= takes 'auto', '{FAST}', "
                              f"{', '.join(map(repr, PRESETS))}{joint} or a mapping "
                              "{'indices': name, 'labels': name}") from None
        if c.section == SectionType.JOINT:
            return {"indices": "", "labels": "", "joint": codec}
        raise EncodeError(f"codec {codec!r} codes only {c.section.name}; pass a mapping "
                          "{'indices': ..., 'labels': ...}")
    if isinstance(codec, Mapping):
        unknown = [key for key in codec if key not in SECTION_KEYS]
        if unknown:
            raise EncodeError(f"codec mapping has unknown keys {sorted(map(repr, unknown))}; "
                              f"known: {', '.join(SECTION_KEYS)}")
        plan: Dict[str, Optional[str]] = {}
        for key, kind in SECTION_KEYS.items():
            value = codec.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise EncodeError(f"codec[{key!r}] must be {_choices(kind)}, got {value!r}")
            plan[key] = None if value == "auto" else value
        if plan["joint"] not in (None, FAST):  # a named joint codec codes both streams
            return {"indices": "", "labels": "", "joint": plan["joint"]}
        if codec.get("joint") is None:  # a mapping without "joint" chooses separate sections
            plan["joint"] = ""
        return plan
    raise EncodeError(f"codec must be 'auto', a preset name or a mapping, got {codec!r}")


def _candidates(kind: SectionType, choice: Optional[str], groups) -> List[Codec]:
    if choice == "":
        return []
    if choice == FAST:
        return [c for c in _candidates(kind, None, groups) if c.fast_decode]
    if choice is not None:
        try:
            c = get_by_name(choice)
        except KeyError:
            raise EncodeError(f"unknown codec {choice!r} for {kind.name.lower()}; choose {_choices(kind)}") from None
        if c.section != kind:
            raise EncodeError(f"codec {choice!r} codes {c.section.name} sections, not {kind.name}; "
                              f"choose {_choices(kind)}")
        if c.needs_groups and groups is None:
            raise EncodeError(f"codec {choice!r} needs the pool's folder structure: pass pool= with group_sizes")
        return [c]
    return [c for c in list_codecs(kind) if c.auto and (groups is not None or not c.needs_groups)]


#: below this many kept images the candidates are tried one after the other (threads cost more than they save)
PARALLEL_MIN_KEPT = 50_000


def _run_candidates(jobs: List[Tuple[Codec, Any, StreamContext]], threads: int) -> List[Optional[bytes]]:
    """Encode every (codec, values, ctx) job; with ``threads > 1`` the jobs run in a thread pool (the
    kernels release the GIL), which is how ``codec="auto"`` tries all candidates in about the time of the
    slowest one on a multi-core machine.  Results keep the jobs' order, so the choice is deterministic."""
    if threads <= 1 or len(jobs) <= 1:
        return [c.encode(v, ctx) for c, v, ctx in jobs]
    from concurrent.futures import ThreadPoolExecutor

    # longest first (by the codecs' encode_cost hints): the threads then finish at about the same time
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][0].encode_cost)
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as ex:
        futures = {i: ex.submit(jobs[i][0].encode, jobs[i][1], jobs[i][2]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def _pick(cands: List[Codec], results: List[Optional[bytes]], forced: bool) -> Optional[Tuple[Codec, bytes]]:
    best = None
    for c, data in zip(cands, results):
        if data is None:
            if forced:
                raise EncodeError(f"codec {c.name!r} cannot represent this input")
            continue
        if best is None or len(data) < len(best[1]):
            best = (c, bytes(data))
    return best


def _partitions(groups: np.ndarray, pool_size: int) -> bool:
    """Whether folder sizes are a partition of the pool: one-dimensional, each >= 1, summing to pool_size."""
    return groups.ndim == 1 and not (groups.size and int(groups.min()) < 1) and int(groups.sum()) == pool_size


def _bytes_section(stype: SectionType, raw: bytes) -> wire.SectionSpec:
    ctx = StreamContext(pool_size=1, num_classes=1, count=0, raw_length=len(raw))
    cands = list_codecs(SectionType.BYTES)
    best = _pick(cands, _run_candidates([(c, raw, ctx) for c in cands], 1), forced=False)
    assert best is not None
    return wire.SectionSpec(stype, best[0].codec_id, len(raw), best[1])


def encode(indices, labels, *, pool_size: int, num_classes: int, class_names: Optional[Sequence[str]] = None,
           pool=None, meta: Optional[Mapping[str, Any]] = None, codec: Union[str, Mapping[str, str]] = "auto",
           limits: Optional[Limits] = None, verify: bool = True, threads: Optional[int] = None) -> bytes:
    """Encode kept pool ``indices`` and their ``labels`` into a .pld payload.

    Unsorted indices are sorted together with their labels.  ``pool`` (a Pool or PoolIdentity) records the
    pool identity; a Pool with folder information also enables the side-information codecs.  ``codec`` is
    "auto" (smallest candidate per section), "fast" (smallest among the candidates that decode at tens of
    millions of values per second: no adaptive context-modelled coder), a preset ("packed", "static") or a
    mapping ``{"indices": name, "labels": name}`` (a missing key or "auto": smallest candidate; a value may
    also be "fast"; ``plada_codec.registry.list_codecs()`` lists the names).  With ``verify`` (default) the
    payload is decoded again with the decoder's checks and compared before it is returned.  ``threads``:
    how many candidates to encode at once (default: all cores for payloads of >= 50,000 images).

    >>> import numpy as np, plada_codec
    >>> blob = plada_codec.encode([5, 1], [1, 0], pool_size=8, num_classes=2)
    >>> plada_codec.decode(blob).indices.tolist()
    [1, 5]
    """
    limits = _limits_arg(limits, EncodeError)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                or threads < 1):
        raise EncodeError(f"threads must be a positive int or None, got {threads!r}")
    idx, lab = _validate(indices, labels, pool_size, num_classes)
    pool_size, num_classes, k = int(pool_size), int(num_classes), int(idx.shape[0])
    for what, value, limit_name in (("pool_size", pool_size, "max_pool_size"), ("kept count", k, "max_kept"),
                                    ("num_classes", num_classes, "max_classes")):
        if value > getattr(limits, limit_name):
            raise EncodeError(f"{what} {value} is above the limit {limit_name}={getattr(limits, limit_name)}")
    try:
        ident = as_identity(pool)
    except TypeError as exc:
        raise EncodeError(str(exc)) from None
    if ident is not None and ident.size != pool_size:
        raise EncodeError(f"pool {ident.describe()} has {ident.size} images, pool_size is {pool_size}")
    groups = group_sizes_of(pool)
    if groups is not None and not _partitions(groups, pool_size):
        raise EncodeError("pool.group_sizes must be positive folder sizes summing to pool_size")
    plan = _codec_plan(codec)
    base = StreamContext(pool_size=pool_size, num_classes=num_classes, count=k, groups=groups)

    sections: List[wire.SectionSpec] = []
    lctx = StreamContext(pool_size, num_classes, k, indices=idx, groups=groups)
    groups_of_jobs = [
        (_candidates(SectionType.INDICES, plan["indices"], groups), idx, base, plan["indices"] not in (None, FAST)),
        (_candidates(SectionType.LABELS, plan["labels"], groups), lab, lctx, plan["labels"] not in (None, FAST)),
        (_candidates(SectionType.JOINT, plan["joint"], groups), (idx, lab), base, bool(plan["joint"])),
    ]
    jobs = [(c, values, ctx) for cands, values, ctx, _ in groups_of_jobs for c in cands]
    threads = int(threads) if threads is not None else (os.cpu_count() or 1) if k >= PARALLEL_MIN_KEPT else 1
    results = _run_candidates(jobs, threads)
    picked = []
    for cands, _, _, forced in groups_of_jobs:
        picked.append(_pick(cands, results[:len(cands)], forced))
        results = results[len(cands):]
    best_idx, best_lab, best_joint = picked
    separate = None
    if best_idx is not None and best_lab is not None:
        separate = len(best_idx[1]) + len(best_lab[1]) + wire.TABLE_ENTRY_SIZE
    if best_joint is not None and (separate is None or len(best_joint[1]) < separate):
        sections.append(wire.SectionSpec(SectionType.JOINT, best_joint[0].codec_id, k, best_joint[1]))
    elif separate is not None:
        sections.append(wire.SectionSpec(SectionType.INDICES, best_idx[0].codec_id, k, best_idx[1]))
        sections.append(wire.SectionSpec(SectionType.LABELS, best_lab[0].codec_id, k, best_lab[1]))
    else:
        raise EncodeError("no codec could represent this input")
    if class_names is not None:
        sections.append(_bytes_section(SectionType.CLASS_NAMES, _class_names_bytes(class_names, num_classes)))
    if meta is not None:
        sections.append(_bytes_section(SectionType.META, _meta_bytes(meta, limits)))
    blob = wire.pack(pool_size, k, num_classes, ident, sections)
    if verify:
        try:
            # the reader's own path (container, limits, pool, every stream); with threads, the label stream
            # is decoded beside the index stream against the indices it was encoded with, which the
            # comparison below then requires the decoded indices to equal
            check = _decode(blob, pool, limits, known_indices=idx if threads > 1 else None)
        except PladaError as exc:  # a codec bug (tests/core/test_encode_verify.py)
            raise EncodeError(f"internal error: the payload failed its own checks: {exc}") from exc
        if not (np.array_equal(check.indices, idx) and np.array_equal(check.labels, lab)):
            raise EncodeError("internal error: the payload does not round-trip")
    return blob


# ----------------------------------------------------------------------------------------------- decode

def _decode_stream(codec: Codec, section: wire.Section, ctx: StreamContext):
    try:
        return codec.decode(section.data, ctx)
    except PladaError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # a codec bug must not leak as a foreign exception
        raise CorruptPayload(f"{section.type_name} section ({codec.name}): {type(exc).__name__}: {exc}") from exc


def _check_indices(indices: np.ndarray, k: int, n: int, what: str) -> np.ndarray:
    indices = np.asarray(indices)
    if indices.shape != (k,) or indices.dtype != np.int64:
        raise CorruptPayload(f"{what}: decoded {indices.shape} {indices.dtype}, expected ({k},) int64")
    if k:
        if indices[0] < 0 or indices[-1] >= n:
            raise CorruptPayload(f"{what}: an index lies outside the pool [0, {n})")
        if k > 1 and not np.all(indices[1:] > indices[:-1]):
            raise CorruptPayload(f"{what}: indices are not strictly increasing")
    return indices


def _check_labels(labels: np.ndarray, k: int, c: int, what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (k,) or labels.dtype != np.int64:
        raise CorruptPayload(f"{what}: decoded {labels.shape} {labels.dtype}, expected ({k},) int64")
    if k and (int(labels.min()) < 0 or int(labels.max()) >= c):
        raise CorruptPayload(f"{what}: a label lies outside [0, {c})")
    return labels


def _resolve_pool(header: wire.Header, pool, needs_groups: bool):
    given = as_identity(pool)
    if header.pool is not None and given is not None:
        check_same_pool(header.pool, given)
    elif given is not None and given.size != header.pool_size:
        raise PoolMismatch(f"payload is for a pool of N={header.pool_size} images (no identity recorded), "
                           f"but the given pool is {given.describe()}")
    if not needs_groups:
        return None
    if header.pool is None:
        raise CorruptPayload("payload uses pool folder information but names no pool")
    if given is None:
        raise PoolMismatch(f"payload was built for pool {header.pool.describe()} with its folder structure; "
                           "pass that pool to decode it (pool=...)")
    groups = group_sizes_of(pool)
    if groups is None:
        raise PoolError(f"pool {given.describe()} does not provide its folder sizes (group_sizes)")
    if not _partitions(groups, header.pool_size):
        raise PoolError("pool group_sizes must be positive folder sizes summing to the pool size")
    return groups


def _limits_arg(limits, error) -> Limits:
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, Limits):
        raise error(f"limits must be a plada_codec.Limits, got {type(limits).__name__}")
    return limits


def _payload_view(blob, who: str) -> memoryview:
    """``blob`` (bytes, bytearray, a contiguous memoryview or a 1-D uint8 numpy array) as a flat byte view;
    anything else is the caller's mistake and raises :class:`DecodeError` naming it."""
    if isinstance(blob, np.ndarray):
        if blob.ndim != 1 or blob.dtype != np.uint8:
            raise DecodeError(f"{who} expects bytes or a 1-D uint8 array, got an array of shape {blob.shape} "
                              f"and dtype {blob.dtype}")
        return memoryview(np.ascontiguousarray(blob))
    if isinstance(blob, memoryview):
        if not blob.c_contiguous:
            raise DecodeError(f"{who} expects bytes, got a non-contiguous memoryview")
        return blob.cast("B")
    if isinstance(blob, (bytes, bytearray)):
        return memoryview(blob)
    hint = " (to read a file, use plada_codec.load(path))" if isinstance(blob, (str, os.PathLike)) else ""
    raise DecodeError(f"{who} expects bytes, got {type(blob).__name__}{hint}")


def decode(blob, pool=None, limits: Optional[Limits] = None) -> Payload:
    """Decode a payload, checking integrity, limits and (when ``pool`` is given) the pool identity.
    ``blob``: bytes, bytearray, memoryview or a 1-D uint8 numpy array.

    Raises only :class:`PladaError` subclasses: TruncatedPayload, CorruptPayload, UnsupportedFeature,
    LimitExceeded, PoolMismatch (payload built for another pool), PoolError.
    """
    limits = _limits_arg(limits, DecodeError)
    view = _payload_view(blob, "decode")
    try:
        as_identity(pool)
    except TypeError as exc:
        raise PoolError(str(exc)) from None
    try:
        return _decode(view, pool, limits)
    except PladaError:
        raise
    except (TypeError, AttributeError, ValueError, OverflowError, IndexError, KeyError, UnicodeError) as exc:
        raise CorruptPayload(f"{type(exc).__name__}: {exc}") from exc


def _decode_byte_sections(by_type, codecs, header: wire.Header, limits: Limits):
    """CLASS_NAMES and META: bounded by the caller's limits before decompression."""
    n, c, k = header.pool_size, header.num_classes, header.kept

    def raw_bytes(s: wire.Section, what: str, limit_name: str) -> bytes:
        limits.check(what, s.raw_length, limit_name)
        return _decode_stream(codecs[s.type], s, StreamContext(n, c, k, raw_length=s.raw_length))

    class_names = None
    if SectionType.CLASS_NAMES in by_type:
        raw = raw_bytes(by_type[SectionType.CLASS_NAMES], "class-names section size", "max_class_names_bytes")
        try:
            class_names = raw.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise CorruptPayload("class names are not valid UTF-8") from None
        if len(class_names) != c or any(not x for x in class_names):
            raise CorruptPayload(f"class-names section holds {len(class_names)} names (some may be empty); C={c}")
        if any("\x00" in x for x in class_names):
            raise CorruptPayload("a class name contains NUL")
    meta = None
    if SectionType.META in by_type:
        raw = raw_bytes(by_type[SectionType.META], "meta section size", "max_meta_bytes")
        try:
            meta = json.loads(raw.decode("utf-8"), parse_constant=_not_json, object_pairs_hook=_unique_members)
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptPayload(f"meta section is not UTF-8 JSON (RFC 8259): {exc}") from None
        if not isinstance(meta, dict):
            raise CorruptPayload("meta section is not a JSON object")
    return class_names, meta


def _not_json(name: str):
    """json.loads accepts NaN / Infinity / -Infinity, which RFC 8259 (and other languages' readers) do not."""
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs):
    """A JSON object whose member names repeat reads differently in other languages: refuse it."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("a member name repeats")
    return obj


def read_metadata(blob, limits: Optional[Limits] = None) -> Tuple[Optional[List[str]], Optional[Dict[str, Any]]]:
    """(class_names, meta) of a payload, after the framing and digest checks, without decoding the index
    and label streams (so without the pool, even when their codecs need it)."""
    limits = _limits_arg(limits, DecodeError)
    header, sections = wire.parse(_payload_view(blob, "read_metadata"), limits)
    by_type, codecs = {}, {}
    for s in sections:
        if s.type in (SectionType.CLASS_NAMES, SectionType.META):
            try:
                codecs[s.type] = get_by_id(s.codec_id, SectionType(s.type))
            except DecodeError:
                continue  # optional section with an unknown codec: skipped, as decode does
            by_type[s.type] = s
    return _decode_byte_sections(by_type, codecs, header, limits)


def _decode(blob, pool, limits: Limits, known_indices: Optional[np.ndarray] = None) -> Payload:
    header, sections = wire.parse(blob, limits)
    n, k, c = header.pool_size, header.kept, header.num_classes
    by_type: Dict[int, wire.Section] = {}
    skipped: List[Tuple[int, int, int]] = []
    codecs: Dict[int, Codec] = {}
    for s in sections:
        try:
            stype = SectionType(s.type)
        except ValueError:
            stype = None
        if stype is None or stype == SectionType.BYTES:
            if s.critical:
                from .errors import UnsupportedFeature
                raise UnsupportedFeature(f"unknown critical section type {s.type}")
            skipped.append((s.type, s.codec_id, s.encoded_length))
            continue
        try:
            codecs[s.type] = get_by_id(s.codec_id, stype)
        except DecodeError:
            if s.critical:
                raise
            skipped.append((s.type, s.codec_id, s.encoded_length))
            continue
        by_type[s.type] = s
    has_sep = SectionType.INDICES in by_type or SectionType.LABELS in by_type
    if SectionType.JOINT in by_type:
        if has_sep:
            raise CorruptPayload("payload holds both a JOINT section and INDICES/LABELS sections")
    elif not (SectionType.INDICES in by_type and SectionType.LABELS in by_type):
        raise CorruptPayload("payload lacks its INDICES and LABELS sections")
    for t in (SectionType.INDICES, SectionType.LABELS, SectionType.JOINT):
        if t in by_type and by_type[t].raw_length != k:
            raise CorruptPayload(f"{t.name} section declares {by_type[t].raw_length} values, header k={k}")
    for t in (SectionType.INDICES, SectionType.JOINT):
        if t in by_type:
            s = by_type[t]
            most = codecs[t].max_count(s.encoded_length, StreamContext(n, c, k))
            if k > most:
                raise CorruptPayload(f"{t.name} section of {s.encoded_length} bytes ({codecs[t].name}) cannot "
                                     f"hold k={k} values (at most {most})")
    needs_groups = any(c_.needs_groups for c_ in codecs.values())
    groups = _resolve_pool(header, pool, needs_groups)
    if SectionType.JOINT in by_type:
        s = by_type[SectionType.JOINT]
        ctx = StreamContext(n, c, k, groups=groups if codecs[s.type].needs_groups else None)
        out = _decode_stream(codecs[s.type], s, ctx)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise CorruptPayload("joint codec returned no (indices, labels) pair")
        indices = _check_indices(out[0], k, n, "joint section")
        labels = _check_labels(out[1], k, c, "joint section")
    else:
        si, sl = by_type[SectionType.INDICES], by_type[SectionType.LABELS]
        ictx = StreamContext(n, c, k, groups=groups if codecs[si.type].needs_groups else None)

        def labels_given(indices):
            ctx = StreamContext(n, c, k, indices=indices, groups=groups if codecs[sl.type].needs_groups else None)
            return _check_labels(_decode_stream(codecs[sl.type], sl, ctx), k, c, "labels section")

        if known_indices is not None and known_indices.shape == (k,) and k >= PARALLEL_MIN_KEPT:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1) as ex:
                pending = ex.submit(labels_given, known_indices)
                indices = _check_indices(_decode_stream(codecs[si.type], si, ictx), k, n, "indices section")
                labels = pending.result()
        else:
            indices = _check_indices(_decode_stream(codecs[si.type], si, ictx), k, n, "indices section")
            labels = labels_given(indices)
    class_names, meta = _decode_byte_sections(by_type, codecs, header, limits)
    indices.setflags(write=False)
    labels.setflags(write=False)
    return Payload(indices=indices, labels=labels, pool_size=n, num_classes=c, class_names=class_names,
                   meta=meta, pool=header.pool, version=(header.major, header.minor), skipped_sections=skipped)


# ---------------------------------------------------------------------------------------------- inspect

def inspect(blob, limits: Optional[Limits] = None) -> Dict[str, Any]:
    """Header and per-section sizes, after the framing and digest checks, without decoding any stream.
    ``blob``: as for :func:`decode`."""
    limits = _limits_arg(limits, DecodeError)
    header, sections = wire.parse(_payload_view(blob, "inspect"), limits)
    out_sections = []
    for s in sections:
        try:
            stype = SectionType(s.type)
            codec_name = get_by_id(s.codec_id, stype).name if stype != SectionType.BYTES else None
        except (ValueError, DecodeError):
            codec_name = None
        out_sections.append({
            "type": s.type_name, "type_id": s.type, "critical": s.critical, "codec_id": s.codec_id,
            "codec": codec_name or f"unknown-0x{s.codec_id:04x}", "raw_length": s.raw_length,
            "encoded_bytes": s.encoded_length,
        })
    total = header.total_length
    return {
        "format": "pld", "version": f"{header.major}.{header.minor}",
        "pool": None if header.pool is None else {
            "name": header.pool.name, "size": header.pool.size, "sha256": header.pool.hexdigest},
        "pool_size": header.pool_size, "kept": header.kept, "num_classes": header.num_classes,
        "total_bytes": total,
        "overhead_bytes": total - sum(s.encoded_length for s in sections),
        "sections": out_sections,
        "bits_per_kept": (8 * total / header.kept) if header.kept else None,
        "bits_per_pool_image": 8 * total / header.pool_size,
    }


# ------------------------------------------------------------------------------------------ save / load

def _path_arg(path, who: str, error) -> str:
    """``path`` (str, bytes or os.PathLike) as a str; anything else (None, an int file descriptor, payload
    bytes) raises ``error`` naming it."""
    if isinstance(path, bytes) and path.startswith(wire.MAGIC):
        raise error(f"{who} expects a file path, got the bytes of a payload (use plada_codec.decode)")
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise error(f"{who} expects a file path (str or os.PathLike), got {type(path).__name__}")
    path = os.fsdecode(os.fspath(path))
    if not path or "\x00" in path:
        raise error(f"{who}: {path!r} is not a valid file path")
    return path


def save(path, indices, labels, **kwargs) -> int:
    """Encode and write atomically to ``path`` (``.pld``); returns the payload size in bytes.

    The target is checked before encoding: an existing folder or a missing parent folder raises
    ``IsADirectoryError`` / ``FileNotFoundError`` naming ``path``.  Nothing is left behind on failure."""
    path = _path_arg(path, "save", EncodeError)
    problem = output_problem(path)
    if problem is not None:
        raise problem
    blob = encode(indices, labels, **kwargs)
    with atomic_output(path) as f:
        f.write(blob)
    return len(blob)


def load(path, pool=None, limits: Optional[Limits] = None) -> Payload:
    """Read and decode a payload file; refuses files larger than ``limits.max_payload_bytes`` unread."""
    limits = _limits_arg(limits, DecodeError)
    path = _path_arg(path, "load", DecodeError)
    size = os.path.getsize(path)
    if size > limits.max_payload_bytes:
        raise LimitExceeded(f"{path} is {size} bytes, above max_payload_bytes={limits.max_payload_bytes}")
    with open(path, "rb") as f:
        blob = f.read()
    return decode(blob, pool=pool, limits=limits)
