#!/usr/bin/env bash
# The developer entry point, and what the README's two commands run:
#   tools/dev.sh main            set up, build, and run the main job on the default model
#   tools/dev.sh test [--slow]   set up (with the Python reference stack), build, and run the tests
#                                (the fast tier that CI runs; --slow runs the slow tier instead)
#   tools/dev.sh build           set up and build llmc, llmc-synth and the plugins (no tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${LLMC_BUILD_DIR:-$root/build}"
jobs=$(nproc)
# ccache hits across checkouts in different directories (CI builds a fresh clone each time).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true

# configure_and_build [TARGET]: the whole tree by default.
configure_and_build() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$jobs" ${1:+--target "$1"}
}

main_job() {
  "$root/tools/setup.sh"
  configure_and_build llmc_product
  "$root/tools/main-job.sh" "$build"
}

run_tests() {
  local label=fast
  [ "${1:-}" = "--slow" ] && label=slow
  "$root/tools/setup.sh" --reference
  configure_and_build
  ctest --test-dir "$build" -L "^${label}\$" --output-on-failure -j "$jobs"
}

case "${1:-}" in
  main) main_job ;;
  test) shift; run_tests "$@" ;;
  build) "$root/tools/setup.sh"; configure_and_build llmc_product ;;
  *) echo "usage: tools/dev.sh main | test [--slow] | build" >&2; exit 2 ;;
esac
