#!/usr/bin/env bash
# Benchmark llmc against the Python reference (LLM Compressor):
#   tools/bench/run.sh [--scenarios w4a16,fp8_dynamic] [--models smollm2,llama-1b] [--repeats N] [--out DIR]
#                      [--build-dir DIR] ...        (--help lists every option)
# Runs with the project's .venv, which holds the reference stack (tools/dev.sh test installs it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="$root/.venv/bin/python"
if [[ ! -x "$python" ]]; then
  echo "run.sh: $python not found; install the reference stack first (tools/dev.sh test)" >&2
  exit 2
fi
exec "$python" "$root/tools/bench/bench.py" "$@"
