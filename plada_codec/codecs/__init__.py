"""Stream codecs.  Importing this package imports every module in it; each module registers its codecs
with :func:`plada_codec.registry.register` (one module = one codec family, encode beside decode)."""
import importlib as _importlib
import pkgutil as _pkgutil

for _mod in sorted(_m.name for _m in _pkgutil.iter_modules(__path__)):
    if not _mod.startswith("_"):
        _importlib.import_module(f"{__name__}.{_mod}")
