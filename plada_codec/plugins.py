"""Encoder/trainer plugins discovered through package entry points (``importlib.metadata``).

Groups (declared in pyproject.toml, ``[project.entry-points."<group>"]``):

* ``plada_codec.rules``    — selection rules (protocol: :mod:`plada_codec.server.rules`);
* ``plada_codec.teachers`` — model builders ``build(num_classes, image_size, in_channels) -> nn.Module``
  used for teachers (and students: :func:`plada_codec.models.get_model` reads this group);
* ``plada_codec.trainers`` — client-side trainers (protocol: docs/CLIENT.md).

A third-party package adds a rule without editing plada_codec::

    # its pyproject.toml
    [project.entry-points."plada_codec.rules"]
    clip-similarity = "my_package.rules:ClipSimilarity"

The built-in plugins are declared the same way in plada_codec's own pyproject.toml.  They are also listed
in :data:`BUILTIN` so they work from a source checkout whose installed metadata is stale; an entry point
with the same name must then point at the same object.  Two *different* objects under one name (two
packages claiming ``entropy``) raise :class:`PladaError`: nothing is silently replaced.
"""
from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any, Dict, List

from .errors import PladaError

GROUPS = ("plada_codec.rules", "plada_codec.teachers", "plada_codec.trainers")
#: what one plugin of each group is called in messages
KINDS = {"plada_codec.rules": "rule", "plada_codec.teachers": "model", "plada_codec.trainers": "trainer"}

#: built-in plugins: group -> {name: "module:attribute"}; mirrors pyproject.toml
BUILTIN: Dict[str, Dict[str, str]] = {
    "plada_codec.rules": {
        "low-energy": "plada_codec.server.rules:LowEnergy",
        "high-energy": "plada_codec.server.rules:HighEnergy",
        "entropy": "plada_codec.server.rules:LowEntropy",
    },
    "plada_codec.teachers": {
        "small-cnn": "plada_codec.models:small_cnn",
        "fast-cnn": "plada_codec.models:fast_cnn",
        "resnet18": "plada_codec.models:resnet18",
        "efficientnet-lite0-frozen": "plada_codec.models:efficientnet_lite0_frozen",
    },
    "plada_codec.trainers": {
        "torch": "plada_codec.client.trainers:TorchTrainer",
        "nearest-centroid": "plada_codec.client.trainers:NearestCentroidTrainer",
    },
}

#: plugins registered at run time (tests, notebooks): group -> {name: object}
_RUNTIME: Dict[str, Dict[str, Any]] = {g: {} for g in GROUPS}


def _check_group(group: str) -> None:
    if group not in GROUPS:
        raise PladaError(f"unknown plugin group {group!r}; known: {', '.join(GROUPS)}")


def discover(group: str) -> Dict[str, str]:
    """``{name: "module:attribute"}`` for every plugin of ``group`` (built-in and installed).

    Raises :class:`PladaError` when two different targets claim one name.
    """
    _check_group(group)
    found: Dict[str, str] = dict(BUILTIN.get(group, {}))
    seen_from: Dict[str, str] = {name: "plada_codec (built-in)" for name in found}
    for ep in metadata.entry_points(group=group):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "an installed package"
        if ep.name in found and found[ep.name] != ep.value:
            raise PladaError(
                f"plugin name {ep.name!r} in group {group} is claimed twice: {found[ep.name]} "
                f"(from {seen_from[ep.name]}) and {ep.value} (from {dist})"
            )
        found[ep.name] = ep.value
        seen_from.setdefault(ep.name, dist)
    for name in _RUNTIME[group]:
        if name in found:
            raise PladaError(f"plugin name {name!r} in group {group} is registered twice")
    return found


def names(group: str) -> List[str]:
    """Plugin names of ``group``: built-in first (in declaration order), then the others sorted."""
    found = discover(group)
    builtin = [n for n in BUILTIN.get(group, {})]
    return builtin + sorted(n for n in list(found) + list(_RUNTIME[group]) if n not in builtin)


def names_for_help(group: str) -> str:
    """The names of ``group`` as one comma-separated string for a --help text; when two plugins claim one
    name (an error the command reports when it loads one) the built-in names.  Imports no plugin."""
    try:
        found = names(group)
    except PladaError:
        found = list(BUILTIN.get(group, {}))
    return ", ".join(found)


def load(group: str, name: str) -> Any:
    """The object registered as ``name`` in ``group`` (imported on first use)."""
    _check_group(group)
    if name in _RUNTIME[group]:
        discover(group)  # raises on a clash with an installed plugin
        return _RUNTIME[group][name]
    found = discover(group)
    if name not in found:
        raise PladaError(f"unknown {KINDS[group]} {name!r}; known: {', '.join(names(group))}")
    module_name, _, attr = found[name].partition(":")
    try:
        obj: Any = importlib.import_module(module_name.strip())
        for part in attr.strip().split(".") if attr else []:
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PladaError(f"cannot load plugin {name!r} ({found[name]}): {exc}") from None
    return obj


def register(group: str, name: str, obj: Any) -> None:
    """Register a plugin object at run time (no packaging needed); clashing names raise."""
    _check_group(group)
    if name in _RUNTIME[group] or name in discover(group):
        raise PladaError(f"plugin name {name!r} in group {group} is already taken")
    _RUNTIME[group][name] = obj


def unregister(group: str, name: str) -> None:
    _check_group(group)
    _RUNTIME[group].pop(name, None)


__all__ = ["GROUPS", "BUILTIN", "discover", "names", "load", "register", "unregister"]
