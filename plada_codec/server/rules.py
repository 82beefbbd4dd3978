"""Selection rules: which pool images to keep first.

Protocol (what a plugin in the entry-point group ``plada_codec.rules`` provides — a class with a
no-argument constructor, or an instance):

``name: str``
    the rule's name (as written in payload metadata);
``requires: tuple[str, ...]``
    score fields it reads (``energy``, ``entropy``, ``max_prob``, ``label``), checked before it runs;
``key(scores, pool=None) -> np.ndarray``
    one float per pool image (length ``scores.size``); the images with the *smallest* keys are kept
    first; ties keep the lower pool index first.  ``pool`` is the :class:`~plada_codec.pool.Pool` when the
    caller has one (a rule may compute its own features from the images, e.g. a CLIP similarity).

Labels are always the teacher's argmax (the paper found hard labels best); a rule only orders images.

Built-in rules (same mechanism, declared in pyproject.toml):

* ``low-energy``  — key = energy E(x) = -T logsumexp(f(x)/T): most confident (in-domain) first; the paper's
  "vanilla" rule;
* ``high-energy`` — key = -energy: least confident first; the paper's "opposite", for far-out-of-domain
  tasks (e.g. medical images) where the confident pool images are the wrong kind;
* ``entropy``     — key = softmax entropy: lowest entropy (most peaked prediction) first.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..errors import PladaError

RULES_GROUP = "plada_codec.rules"


class Rule:
    """Base class for rules (subclassing is optional: any object with the protocol works)."""

    name: str = ""
    requires: Tuple[str, ...] = ()

    def key(self, scores, pool=None) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<rule {self.name}>"


class LowEnergy(Rule):
    name = "low-energy"
    requires = ("energy",)

    def key(self, scores, pool=None) -> np.ndarray:
        return np.asarray(scores.energy, dtype=np.float64)


class HighEnergy(Rule):
    name = "high-energy"
    requires = ("energy",)

    def key(self, scores, pool=None) -> np.ndarray:
        return -np.asarray(scores.energy, dtype=np.float64)


class LowEntropy(Rule):
    name = "entropy"
    requires = ("entropy",)

    def key(self, scores, pool=None) -> np.ndarray:
        return np.asarray(scores.entropy, dtype=np.float64)


def list_rules():
    from .. import plugins

    return plugins.names(RULES_GROUP)


def get_rule(rule):
    """A rule object from a name (built-in or plugin) or a rule object itself."""
    if not isinstance(rule, str):
        obj = rule
    else:
        from .. import plugins

        obj = plugins.load(RULES_GROUP, rule)
        if isinstance(obj, type):
            obj = obj()
    for attr in ("name", "requires", "key"):
        if not hasattr(obj, attr):
            raise PladaError(f"selection rule {rule!r} lacks {attr!r} (see plada_codec.server.rules)")
    return obj


def rule_keys(rule, scores, pool=None) -> np.ndarray:
    """Run ``rule`` on ``scores`` and check its output: finite floats, one per pool image."""
    for field in rule.requires:
        if getattr(scores, field, None) is None:
            raise PladaError(f"rule {rule.name!r} needs the score field {field!r}, which the scores lack")
    key = np.asarray(rule.key(scores, pool), dtype=np.float64)
    if key.shape != (scores.size,):
        raise PladaError(f"rule {rule.name!r} returned {key.shape} keys for a pool of {scores.size}")
    if not np.isfinite(key).all():
        raise PladaError(f"rule {rule.name!r} returned non-finite keys")
    return key


__all__ = ["Rule", "LowEnergy", "HighEnergy", "LowEntropy", "get_rule", "list_rules", "rule_keys", "RULES_GROUP"]
