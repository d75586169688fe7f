#!/usr/bin/env bash
# Installs what llmc needs to build (and, with --reference, to run its tests), idempotently:
# Debian packages via apt, and a project-local Python environment in .venv holding LibTorch (from the
# pinned PyPI torch wheel) and, for tests only, the pinned Python reference stack.
# A second run finds everything in place and takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
want_reference=0
for arg in "$@"; do
  case "$arg" in
    --reference) want_reference=1 ;;
    -h|--help) echo "usage: tools/setup.sh [--reference]"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

debian_packages=(
  cmake ninja-build g++ ccache pkg-config python3-venv
  libboost-dev libboost-program-options-dev
  libtomlplusplus-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Requirements are pinned in tools/requirements-*.txt; a stamp holding their hash makes re-runs instant.
install_requirements() {
  local file="$1" stamp="$venv/.stamp-$(basename "$1" .txt)"
  local digest; digest=$(sha256sum "$file" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && return 0
  echo "setup: installing $(basename "$file") into .venv (first run downloads a few GB)"
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$file"
  echo "$digest" > "$stamp"
}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
install_requirements "$root/tools/requirements-build.txt"
((want_reference)) && install_requirements "$root/tools/requirements-reference.txt"
echo "setup: ready (torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
