#!/usr/bin/env bash
# Create (or reuse) ./.venv and install plada_codec with the given extras (default: all).
# Usage: bash scripts/setup.sh [EXTRAS]      e.g. bash scripts/setup.sh torch,test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-torch,test,bench,plot}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.plada-installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[${extras}]"
  touch "$stamp"
fi
# Decode kernels compiled ahead of time (numba.pycc, ~10-30 s, needs a C compiler): a cold process then
# decodes without importing Numba. Rebuilt whenever the kernel sources change; failure is not fatal (the
# JIT kernels still work, start-up is just slower).
if ! .venv/bin/python -m plada_codec._ext.aot --check >/dev/null 2>&1; then
  .venv/bin/python -m plada_codec._ext.aot || echo "setup: continuing without ahead-of-time kernels" >&2
fi
