"""`llmc eval` against transformers on the same tokens: the default model imported from its GGUF
(perplexity, the issue's acceptance check), a compressed copy of it (KL divergence and top-1 agreement
through the compressed-tensors reader), and the command's errors. Compressed checkpoints are scored with
their weights' quantization only (llmc eval does not simulate activation quantization yet and says so),
so the compressed copy uses weight-only schemes, which transformers runs the same way.

The text is the GPL-3 licence that Debian's base-files installs on every system: plain English prose.
Tolerances: llmc and transformers both run fp32 from the same bf16 weights, but with different op orders
(fused vs separate matmuls, their softmax vs ours), which moves logits by ~1e-5 relative; a mean NLL over
hundreds of tokens then agrees to ~1e-6, so perplexities must agree to 1e-4 relative and a mean KL (itself
~1e-2 for int4) to 1e-3 relative plus 1e-6 absolute.
"""
import json
import math
import pathlib
import subprocess

import pytest
import torch

TEXT = pathlib.Path("/usr/share/common-licenses/GPL-3")
WINDOW = 128
MAX_WINDOWS = 6

MIXED_RECIPE = """
[[modifier]]
plugin = "rtn"
ignore = ["lm_head"]
  [[modifier.group]]
  targets = ['re:.*self_attn\\.(q|k|v|o)_proj$', 're:.*mlp\\.(gate|up)_proj$']
  weights = { num_bits = 4, type = "int", symmetric = true, strategy = "group", group_size = 64 }
  [[modifier.group]]
  targets = ['re:.*mlp\\.down_proj$']
  scheme = "W8A16"
"""


def run(llmc_bin, *args):
    return subprocess.run([str(llmc_bin), *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def compressed(llmc_bin, smollm2_checkpoint, tmp_path_factory):
    directory = tmp_path_factory.mktemp("compressed")
    recipe = directory / "recipe.toml"
    recipe.write_text(MIXED_RECIPE)
    result = run(llmc_bin, "oneshot", "--model", smollm2_checkpoint, "--recipe", recipe, "--output",
                 directory / "model", "--quiet")
    assert result.returncode == 0, result.stderr
    return directory / "model"


def windows(tokenizer):
    ids = tokenizer(TEXT.read_text())["input_ids"]
    return [ids[i:i + WINDOW] for i in range(0, len(ids), WINDOW) if len(ids[i:i + WINDOW]) >= 2][:MAX_WINDOWS]


def reference_log_probs(model_dir, chunks):
    """transformers' fp32 log-probabilities of every predicting position, window by window. A compressed
    checkpoint is decompressed in its bf16 dtype and run without CT's forward fake-quantization, as llmc
    runs it (re-quantizing the decompressed bf16 weights in forward moves some int8 values by one step)."""
    from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
    from transformers import AutoModelForCausalLM
    from transformers.utils.quantization_config import CompressedTensorsConfig
    compressed = "quantization_config" in json.loads((pathlib.Path(model_dir) / "config.json").read_text())
    extra = {"quantization_config": CompressedTensorsConfig(dequantize=True)} if compressed else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, **extra)
    model.apply(disable_quantization)
    model = model.float().eval()
    with torch.no_grad():
        return [torch.log_softmax(model(torch.tensor([chunk])).logits[0, :-1].float(), -1) for chunk in chunks]


def nll(log_probs, chunks):
    total = sum(-lp.gather(1, torch.tensor(chunk[1:]).unsqueeze(1)).double().sum().item()
                for lp, chunk in zip(log_probs, chunks))
    return total / sum(len(chunk) - 1 for chunk in chunks)


def llmc_eval(llmc_bin, tmp_path, *args):
    out = tmp_path / "eval.json"
    result = run(llmc_bin, "eval", *args, "--data", TEXT, "--window", WINDOW, "--max-windows", MAX_WINDOWS,
                 "--json", out)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout


def test_perplexity_of_the_imported_default_model_equals_transformers(llmc_bin, smollm2_checkpoint, tmp_path):
    from transformers import AutoTokenizer
    chunks = windows(AutoTokenizer.from_pretrained(smollm2_checkpoint))
    report, table = llmc_eval(llmc_bin, tmp_path, "--model", smollm2_checkpoint)
    assert report["windows"] == len(chunks)
    assert report["predicted_tokens"] == sum(len(chunk) - 1 for chunk in chunks)
    expected = math.exp(nll(reference_log_probs(smollm2_checkpoint, chunks), chunks))
    assert report["perplexity"] == pytest.approx(expected, rel=1e-4)
    assert f"{report['perplexity']:.4f}" in table


def test_comparison_with_a_compressed_copy_equals_transformers(llmc_bin, smollm2_checkpoint, compressed, tmp_path):
    from transformers import AutoTokenizer
    chunks = windows(AutoTokenizer.from_pretrained(smollm2_checkpoint))
    report, table = llmc_eval(llmc_bin, tmp_path, "--model", smollm2_checkpoint, "--compare", compressed)
    base = reference_log_probs(smollm2_checkpoint, chunks)
    other = reference_log_probs(compressed, chunks)
    kl = torch.cat([(b.exp() * (b - o)).sum(-1) for b, o in zip(base, other)]).double()
    top1 = torch.cat([b.argmax(-1) == o.argmax(-1) for b, o in zip(base, other)]).double().mean().item()
    compare = report["compare"]
    assert compare["perplexity"] == pytest.approx(math.exp(nll(other, chunks)), rel=1e-4)
    assert compare["mean_kl"] == pytest.approx(kl.mean().item(), rel=1e-3, abs=1e-6)
    assert compare["max_kl"] == pytest.approx(kl.max().item(), rel=1e-3, abs=1e-6)
    # near-ties between a model's two best tokens may rank differently under op-order noise: one token
    assert abs(compare["top1_agreement"] - top1) <= 1.0 / report["predicted_tokens"] + 1e-12
    assert 0 < compare["mean_kl"] and compare["top1_agreement"] < 1
    assert str(compressed) in table


def test_activation_quantization_is_reported_as_not_simulated(llmc_bin, smollm2_checkpoint, tmp_path):
    recipe = tmp_path / "fp8.toml"
    recipe.write_text('[[modifier]]\nplugin = "rtn"\nignore = ["lm_head"]\nscheme = "FP8_DYNAMIC"\n')
    result = run(llmc_bin, "oneshot", "--model", smollm2_checkpoint, "--recipe", recipe, "--output",
                 tmp_path / "fp8", "--quiet")
    assert result.returncode == 0, result.stderr
    result = run(llmc_bin, "eval", "--model", smollm2_checkpoint, "--compare", tmp_path / "fp8", "--data", TEXT,
                 "--window", 64, "--max-windows", 1)
    assert result.returncode == 0, result.stderr
    assert "activation quantization" in result.stderr and "not simulated" in result.stderr


def test_missing_model_is_exit_5(llmc_bin, tmp_path):
    result = run(llmc_bin, "eval", "--model", tmp_path / "absent", "--data", TEXT)
    assert result.returncode == 5
    assert "absent" in result.stderr


def test_missing_data_names_the_file(llmc_bin, smollm2_checkpoint, tmp_path):
    result = run(llmc_bin, "eval", "--model", smollm2_checkpoint, "--data", tmp_path / "nothing.txt")
    assert result.returncode == 1
    assert "nothing.txt" in result.stderr


def test_a_text_of_one_token_is_refused(llmc_bin, smollm2_checkpoint, tmp_path):
    text = tmp_path / "short.txt"
    text.write_text("Hi")
    result = run(llmc_bin, "eval", "--model", smollm2_checkpoint, "--data", text)
    assert result.returncode == 1
    assert "short.txt" in result.stderr and "at least 2" in result.stderr


def test_usage_errors(llmc_bin):
    assert run(llmc_bin, "eval", "--data", TEXT).returncode == 2
    helped = run(llmc_bin, "eval", "--help")
    assert helped.returncode == 0 and "--compare" in helped.stdout
