#!/usr/bin/env bash
# The test suite: install with the test extras, run every test, then the kernel code once more as plain
# Python (NUMBA_DISABLE_JIT=1) so that coverage sees it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh torch,test,bench,plot
export PYTHONDONTWRITEBYTECODE=1
export PLADA_REQUIRE_AOT=1  # tests/core/test_aot.py fails (not skips) if setup could not build them
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
NUMBA_DISABLE_JIT=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/core -m "not slow"
