"""Plugin discovery through entry points: installed plugins are found, duplicates raise."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from plada_codec import plugins
from plada_codec.errors import PladaError
from plada_codec.server.rules import get_rule
from plada_codec.server.selection import select

from .conftest import make_scores


def fake_distribution(tmp_path, name, entry_points: str, module_source: str = ""):
    """A minimal installed distribution (dist-info with entry_points.txt) on sys.path."""
    site = tmp_path / f"site-{name}"
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    if module_source:
        (site / f"{name}.py").write_text(module_source)
    return str(site)


RULE_MODULE = '''
import numpy as np

class FarFromZero:
    name = "far-from-zero"
    requires = ("energy",)

    def key(self, scores, pool=None):
        return -np.abs(np.asarray(scores.energy, dtype=np.float64))
'''


@pytest.fixture()
def on_path(monkeypatch):
    def add(path):
        monkeypatch.syspath_prepend(path)
        import importlib

        importlib.invalidate_caches()

    return add


def test_builtins_are_listed():
    assert plugins.names("plada_codec.rules")[:3] == ["low-energy", "high-energy", "entropy"]
    assert "small-cnn" in plugins.names("plada_codec.teachers")
    with pytest.raises(PladaError, match="unknown plugin group"):
        plugins.names("plada_codec.nope")


def test_installed_rule_plugin_is_discovered_and_used(tmp_path, on_path):
    on_path(fake_distribution(tmp_path, "plada_rule_demo",
                              "[plada_codec.rules]\nfar-from-zero = plada_rule_demo:FarFromZero\n", RULE_MODULE))
    assert "far-from-zero" in plugins.names("plada_codec.rules")
    s = make_scores([0.1, -5.0, 0.2, 3.0, -0.3], [0, 1, 0, 1, 0], 2)
    sel = select(s, "far-from-zero", count=2)
    assert sel.indices.tolist() == [1, 3] and sel.meta["selection"]["rule"] == "far-from-zero"
    sys.modules.pop("plada_rule_demo", None)


def test_duplicate_names_raise(tmp_path, on_path):
    on_path(fake_distribution(tmp_path, "plada_dup", "[plada_codec.rules]\nentropy = plada_dup:Other\n"))
    with pytest.raises(PladaError, match="claimed twice"):
        plugins.discover("plada_codec.rules")
    with pytest.raises(PladaError, match="claimed twice"):
        get_rule("low-energy")


def test_same_target_twice_is_not_a_clash(tmp_path, on_path):
    # e.g. a stale egg-info beside the installed dist-info: same name, same object
    on_path(fake_distribution(tmp_path, "plada_same", "[plada_codec.rules]\nentropy = plada_codec.server.rules:LowEntropy\n"))
    assert get_rule("entropy").name == "entropy"


def test_runtime_registration_and_protocol_checks():
    class Bad:
        name, requires = "bad", ("energy",)

        def key(self, scores, pool=None):
            return np.zeros(3)

    plugins.register("plada_codec.rules", "bad-length", Bad())
    try:
        with pytest.raises(PladaError, match="already taken"):
            plugins.register("plada_codec.rules", "entropy", Bad())
        s = make_scores(np.zeros(5), np.zeros(5, int), 2)
        with pytest.raises(PladaError, match="returned"):
            select(s, "bad-length", count=2)
    finally:
        plugins.unregister("plada_codec.rules", "bad-length")
    with pytest.raises(PladaError, match="lacks"):
        get_rule(object())
