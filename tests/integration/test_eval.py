"""`llmc eval` against transformers on the same tokens: the default model imported from its GGUF
(perplexity, the issue's acceptance check), a compressed copy of it (KL divergence and top-1 agreement
through the compressed-tensors reader), an FP8_DYNAMIC copy whose activations llmc fake-quantizes as
compressed-tensors' forward does, and the command's errors.

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
BATCH = 8  # llmc eval's default --batch-size

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


def batches_of(chunks):
    """The windows grouped as llmc eval batches them: consecutive windows of equal length, BATCH at a time."""
    groups = []
    for chunk in chunks:
        if groups and len(groups[-1]) < BATCH and len(groups[-1][0]) == len(chunk):
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    return groups


def reference_log_probs(model_dir, chunks, quantize_activations=False):
    """transformers' fp32 log-probabilities of every predicting position, per window, computed in the batches
    llmc eval runs (the same matmul shapes, hence the same rounding; see the FP8_DYNAMIC test). A compressed
    checkpoint is decompressed in its bf16 dtype at load (CompressedTensorsConfig(dequantize=True)), which
    leaves its Linears in status DECOMPRESSED: CT's forward then skips the weights' fake-quantization and runs
    the decompressed weights, as llmc does. With quantize_activations, CT's forward still fake-quantizes the
    scheme's activations (what llmc eval does by default); without, quantization is disabled altogether."""
    from compressed_tensors.quantization import QuantizationStatus
    from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
    from transformers import AutoModelForCausalLM
    from transformers.utils.quantization_config import CompressedTensorsConfig
    compressed = "quantization_config" in json.loads((pathlib.Path(model_dir) / "config.json").read_text())
    extra = {"quantization_config": CompressedTensorsConfig(dequantize=True)} if compressed else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, **extra)
    statuses = {getattr(m, "quantization_status", None) for m in model.modules() if hasattr(m, "quantization_scheme")}
    assert statuses <= {QuantizationStatus.DECOMPRESSED}, statuses
    if not quantize_activations:
        model.apply(disable_quantization)
    model = model.float().eval()
    with torch.no_grad():
        return [log_probs for group in batches_of(chunks)
                for log_probs in torch.log_softmax(model(torch.tensor(group)).logits[:, :-1].float(), -1)]


def nll(log_probs, chunks):
    total = sum(-lp.gather(1, torch.tensor(chunk[1:]).unsqueeze(1)).double().sum().item()
                for lp, chunk in zip(log_probs, chunks))
    return total / sum(len(chunk) - 1 for chunk in chunks)


def kl_and_top1(base, other):
    kl = torch.cat([(b.exp() * (b - o)).sum(-1) for b, o in zip(base, other)]).double()
    top1 = torch.cat([b.argmax(-1) == o.argmax(-1) for b, o in zip(base, other)]).double().mean().item()
    return kl, top1


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
    kl, top1 = kl_and_top1(base, other)
    compare = report["compare"]
    assert compare["perplexity"] == pytest.approx(math.exp(nll(other, chunks)), rel=1e-4)
    assert compare["mean_kl"] == pytest.approx(kl.mean().item(), rel=1e-3, abs=1e-6)
    assert compare["max_kl"] == pytest.approx(kl.max().item(), rel=1e-3, abs=1e-6)
    # near-ties between a model's two best tokens may rank differently under op-order noise: one token
    assert abs(compare["top1_agreement"] - top1) <= 1.0 / report["predicted_tokens"] + 1e-12
    assert 0 < compare["mean_kl"] and compare["top1_agreement"] < 1
    assert str(compressed) in table


def test_fp8_dynamic_copy_equals_transformers_with_activation_quantization(llmc_bin, smollm2_checkpoint, tmp_path):
    """FP8_DYNAMIC quantizes every Linear's input to fp8 per token, dynamically. llmc eval must score the copy
    as transformers runs it with CT's forward fake-quantizing those inputs, at the tolerances above.

    Fake-quantization makes the forward discontinuous: a value on a midpoint between two fp8 values rounds
    either way under op-order noise, and 30 layers amplify one flipped value into a different realization of
    the quantization noise for its token and the later tokens of its window. CT against itself shows the
    size of that: eager vs SDPA attention, or one window at a time vs the 6 windows in one batch, moves the
    perplexity between 36.9 and 38.2 and the mean KL between 0.058 and 0.064. So the reference runs what llmc
    eval runs, the same batches through SDPA, whose ATen ops on the same shapes round alike: then llmc
    agrees to ~1e-7 (observed: perplexity equal to 1e-14 relative, mean KL to 7e-7, max KL to 2e-6, top-1
    exactly), within the tolerances above. Weight-only scoring is far off (mean KL 0.044 vs 0.058, checked
    below), so the test tells activation quantization from none."""
    from transformers import AutoTokenizer
    recipe = tmp_path / "fp8.toml"
    recipe.write_text('[[modifier]]\nplugin = "rtn"\nignore = ["lm_head"]\nscheme = "FP8_DYNAMIC"\n')
    result = run(llmc_bin, "oneshot", "--model", smollm2_checkpoint, "--recipe", recipe, "--output",
                 tmp_path / "fp8", "--quiet")
    assert result.returncode == 0, result.stderr
    chunks = windows(AutoTokenizer.from_pretrained(smollm2_checkpoint))
    report, _ = llmc_eval(llmc_bin, tmp_path, "--model", smollm2_checkpoint, "--compare", tmp_path / "fp8",
                          "--batch-size", BATCH)
    base = reference_log_probs(smollm2_checkpoint, chunks)
    other = reference_log_probs(tmp_path / "fp8", chunks, quantize_activations=True)
    weight_only = reference_log_probs(tmp_path / "fp8", chunks)
    kl, top1 = kl_and_top1(base, other)
    kl_weight_only, _ = kl_and_top1(base, weight_only)
    compare = report["compare"]
    assert compare["perplexity"] == pytest.approx(math.exp(nll(other, chunks)), rel=1e-4)
    assert compare["mean_kl"] == pytest.approx(kl.mean().item(), rel=1e-3, abs=1e-6)
    assert compare["max_kl"] == pytest.approx(kl.max().item(), rel=1e-3, abs=1e-6)
    assert abs(compare["top1_agreement"] - top1) <= 1.0 / report["predicted_tokens"] + 1e-12
    # the activations' quantization is what these figures measure: without it they would be far off
    assert abs(kl_weight_only.mean().item() - kl.mean().item()) > 0.1 * kl.mean().item()


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
