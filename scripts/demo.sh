#!/usr/bin/env bash
# The main job on a fresh machine: install, build the offline data (first run), run the benchmark demo.
# Extra arguments go to `python -m plada_codec demo` (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh torch,plot
exec .venv/bin/python -m plada_codec demo "$@"
