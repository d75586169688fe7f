#!/usr/bin/env bash
# The main job (run by `tools/dev.sh main` after setup and build): compress the default model with the
# default recipe and say what was done. Until GGUF import lands, the default model is a synthetic
# checkpoint with SmolLM2-135M's shapes that llmc-synth makes once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${1:-$root/build}"
work="$root/.cache/main-job"
model="$work/smollm2-135m-synthetic"
recipe="$root/recipes/int4-fp8-mixed.toml"
output="$work/smollm2-135m-int4-fp8"
mkdir -p "$work"

if [ ! -f "$model/config.json" ]; then
  echo "main-job: making the default checkpoint (SmolLM2-135M shapes, random bf16 weights) in $model"
  "$build/bin/llmc-synth" --preset smollm2-135m --output "$model"
fi

echo "main-job: llmc oneshot --model $model --recipe $recipe --output $output"
"$build/bin/llmc" oneshot --model "$model" --recipe "$recipe" --output "$output" --overwrite \
  --log-json "$work/events.jsonl"

echo
echo "main-job: done. Output checkpoint $output:"
ls -l "$output"
echo "main-job: lifecycle events (from --log-json $work/events.jsonl):"
"$root/.venv/bin/python" - "$work/events.jsonl" <<'PY'
import collections, json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
counts = collections.Counter(e["event"] for e in events)
done = next(e for e in events if e["event"] == "done")
print(f"  {counts['initialize']} initialize, {counts['compress']} compress steps, {counts['finalize']} finalize;"
      f" {done['modules_compressed']} modules compressed in {done['units']} units;"
      f" {done['tensors']} tensors, {done['bytes'] / 1e6:.1f} MB written in {done['seconds']:.2f} s")
PY
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
