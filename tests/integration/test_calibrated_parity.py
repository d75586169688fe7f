"""End-to-end parity of llmc's calibrated algorithms (the gptq, awq, smoothquant, sparsegpt and wanda plugins, and
rtn with calibrated static activation / KV-cache scales or imatrix_mse weights) with the reference: LLM Compressor's
`oneshot` given the same calibration token ids, saved with `save_pretrained(save_compressed=True)`
(calibrated_reference.py).

Inputs. A tiny random Llama made by transformers (hidden 256, intermediate 512, 2 layers, 4 heads and 2 KV heads as
in Llama-3's GQA), in float32 and in bfloat16; its weights are spread so that the grids get used, three embedding
channels carry outliers (what SmoothQuant and AWQ exist for), and channel 7 of layer 0's input_layernorm is zero,
so q/k/v_proj of layer 0 see a dead input column (GPTQ's and SparseGPT's dead-column rule). The calibration data:
16 samples of 64 random token ids (fixed seed) in a JSONL file both sides read in file order, one sample per batch
(llmc's [calibration] shuffle = false; the reference gets a ready-made loader). Both run the model in its
checkpoint dtype, on one thread each; llmc with `--matmul dtype`, the reference's bf16 kernels, except in the case
that checks its float32-widened bf16 products (the default on CPUs without bf16 instructions) for quality.

Per case (llmc [[modifier]] tables; `reference_modifiers` derives the reference's modifier list and says what each
llmc key is there), what must agree:
  - the checkpoint's tensors: the same names, dtypes and shapes; config.json field by field;
  - the quantization parameters (weight_scale, weight_zero_point, weight_global_scale, input_scale,
    input_global_scale, k_scale, v_scale), the stored weight codes (ints, fp8/fp4 grid points: the fraction that
    differ and by how many grid steps), the dequantized weights (compressed-tensors' decompression through
    transformers) and every other tensor; sparsity masks;
  - the quality: logits on held-out tokens vs the uncompressed model's, relative error vs the reference's. This is
    the only check of smoothquant then gptq, whose pipelines differ by design (DESIGN.md "The run": llmc's one pass
    gives SmoothQuant the activations of compressed earlier layers; the reference's first pass, uncompressed ones).

Tolerances: none, for one modifier. Every algorithm here is deterministic, and both sides run the same ATen
operations on the same shapes in the same dtype, so the checkpoints are equal bit for bit -- measured: with the
reference's calibration attention replaced by SDPA, every single-modifier case of both tiers, fp32 and bf16, came out
identical in every byte. That premise matters because GPTQ and SparseGPT make discrete choices (a grid point per
weight, the pruned set; GPTQ's static activation order sorts diag(H), whose near-ties swap) that any last-bit
difference in an activation flips, and GPTQ's error feedback spreads a flip along its row: the reference against
itself, only the order of the same 16 samples reversed (fp32 sums in another order), changes up to 6% of a
module's int4 codes (17% in bf16), by up to 3 steps. So the only honest bounds short of equality would be too
loose to catch a real error. The reference calibrates with eager attention (llmcompressor's
calibration_forward_context forces it): llmc's calibration forward must do the same arithmetic.

All reference checkpoints of a tier come from ONE background subprocess while llmc runs its jobs (as in
test_rtn_parity.py). The fast tier holds the cases CI runs (a few seconds each); the rest, and the SmolLM2
perplexity comparison of the issue's recipes, are @slow.
"""
import dataclasses
import json
import math
import pathlib
import re
import subprocess
import tomllib

import pytest

from conftest import SOURCE_DIR
from parity_support import (Outcome, TieredParity, finish_reference, single_thread_env, start_reference,
                            tiered)
from test_rtn_parity import json_differences, toml_value

REFERENCE_SCRIPT = pathlib.Path(__file__).with_name("calibrated_reference.py")
SAMPLES, SEQ_LEN, VOCAB = 16, 64, 512
KV_FP8 = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "tensor"}
INT4_G128_IMATRIX = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 128,
                     "observer": "imatrix_mse"}
INT8_CHANNEL = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel"}
INT8_STATIC_MSE = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "tensor", "dynamic": False,
                   "observer": "mse"}

# name -> (dtype, seed)
MODELS = {"fp32": ("float32", 0), "bf16": ("bfloat16", 1)}


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How far llmc's checkpoint may be from the reference's. Fractions are per module."""
    qparam_rel: float = 0.0  # quantization parameters: max relative difference (0: bit for bit)
    code_fraction: float = 0.0  # stored weight codes that differ
    code_steps: int = 0  # the largest difference of a code, in grid steps
    dense_rel: float = 0.0  # dequantized weights: ||ours - theirs|| / ||theirs||; other tensors: max relative
    quality_rel: float = 0.0  # logits error vs the original model: |ours / theirs - 1|


EXACT = Tolerance()
# smoothquant then gptq: llmc's smoothing factors come from the activations of compressed earlier layers, so
# layer 1's differ (observed: weight scales up to 0.4% apart, 16% of int8 codes); the output error came out 0.4%
# below the reference's. The reference moves its own by 0.3% when only the sample order changes.
PIPELINE = Tolerance(quality_rel=0.02)
# GPTQ on bf16 with float32-widened products: they round now and then to the neighbouring bf16 value, which flips
# GPTQ's discrete choices as a change of sample order does in the reference (5-20% of codes, up to 3 steps, in
# each module of the second layer), so only the quality compares; that order change moves the reference's own
# output error by about 1%. Measured: llmc 0.09551, the reference 0.09625 (0.8% below).
WIDENED = Tolerance(quality_rel=0.02)


@dataclasses.dataclass(frozen=True)
class Case:
    model: str
    modifiers: tuple  # llmc [[modifier]] tables; a "group" key holds [[modifier.group]] tables
    check: str  # "quantized": tensors compared; "sparse": masks and kept weights; "quality": quality only
    tolerance: Tolerance = EXACT
    slow: bool = False
    reference_error: str = ""  # the reference refuses the recipe with this message
    matmul: str = "dtype"  # llmc's --matmul


def modifier(plugin: str, **keys) -> dict:
    return {"plugin": plugin, "targets": ["Linear"], "ignore": ["lm_head"], **keys}


CASES = {
    # fast tier
    "gptq_w4a16": Case("fp32", (modifier("gptq", scheme="W4A16"),), "quantized"),
    "gptq_w4a16_bf16": Case("bf16", (modifier("gptq", scheme="W4A16"),), "quantized"),
    "gptq_w4a16_bf16_widened": Case("bf16", (modifier("gptq", scheme="W4A16"),), "quality", WIDENED,
                                    matmul="float32"),
    "gptq_w8a8": Case("fp32", (modifier("gptq", scheme="W8A8"),), "quantized"),
    "awq_w4a16_asym": Case("fp32", (modifier("awq", scheme="W4A16_ASYM", duo_scaling="true"),), "quantized"),
    "smoothquant_gptq_w8a8": Case("fp32", ({"plugin": "smoothquant", "smoothing_strength": 0.8},
                                           modifier("gptq", scheme="W8A8")), "quality", PIPELINE),
    "sparsegpt_unstructured": Case("fp32", (modifier("sparsegpt", sparsity=0.5),), "sparse"),
    "sparsegpt_2of4": Case("fp32", (modifier("sparsegpt", sparsity=0.5, mask_structure="2:4"),), "sparse"),
    "wanda": Case("fp32", (modifier("wanda", sparsity=0.5),), "sparse"),
    "fp8_static_kv": Case("fp32", (modifier("rtn", scheme="FP8", kv_cache_scheme=KV_FP8),), "quantized"),
    "nvfp4": Case("fp32", (modifier("rtn", scheme="NVFP4"),), "quantized"),
    "rtn_w4a16_imatrix": Case("fp32", (modifier("rtn", weights=INT4_G128_IMATRIX),), "quantized"),
    "rtn_w8a8_static_mse": Case("fp32", (modifier("rtn", weights=INT8_CHANNEL, input_activations=INT8_STATIC_MSE),),
                                "quantized"),
    "gptq_w4a16_imatrix": Case("fp32", (modifier("gptq", scheme="W4A16", weight_observer="imatrix_mse"),),
                               "quantized"),
    # slow tier
    # both refuse GPTQ's actorder "group" (g_idx), which compressed-tensors 0.19 removed
    "gptq_w4a16_actorder_group": Case("fp32", (modifier("gptq", scheme="W4A16", actorder="group"),), "quantized",
                                      slow=True, reference_error="Invalid activation ordering group"),
    "gptq_w4a16_actorder_none": Case("fp32", (modifier("gptq", scheme="W4A16", actorder="none"),), "quantized",
                                     slow=True),
    "gptq_nvfp4a16": Case("fp32", (modifier("gptq", scheme="NVFP4A16"),), "quantized", slow=True),
    "gptq_fp8_block": Case("fp32", (modifier("gptq", scheme="FP8_BLOCK"),), "quantized", slow=True),
    "gptq_w8a8_bf16": Case("bf16", (modifier("gptq", scheme="W8A8"),), "quantized", slow=True),
    "awq_w4a16_asym_both": Case("fp32", (modifier("awq", scheme="W4A16_ASYM", duo_scaling="both"),), "quantized",
                                slow=True),
    "awq_w4a16_asym_bf16": Case("bf16", (modifier("awq", scheme="W4A16_ASYM", duo_scaling="true"),), "quantized",
                                slow=True),
    "sparsegpt_2of4_bf16": Case("bf16", (modifier("sparsegpt", sparsity=0.5, mask_structure="2:4"),), "sparse",
                                slow=True),
    "wanda_2of4": Case("fp32", (modifier("wanda", sparsity=0.5, mask_structure="2:4"),), "sparse", slow=True),
    "fp8_static_kv_bf16": Case("bf16", (modifier("rtn", scheme="FP8", kv_cache_scheme=KV_FP8),), "quantized",
                               slow=True),
    "nvfp4_bf16": Case("bf16", (modifier("rtn", scheme="NVFP4"),), "quantized", slow=True),
}


# ----------------------------------------------------------------------------------------------------------------
# llmc recipes and their reference equivalents

QUANT_KEYS = ("targets", "ignore", "scheme", "weights", "input_activations", "output_activations",
              "kv_cache_scheme", "group")


def llmc_recipe(modifiers, calibration: dict | None = None) -> str:
    """The recipe file of [[modifier]] tables. Its [calibration] table sets shuffle = false: samples in file order
    (the longest first, and all have one length), the order the reference is given (calibrated_reference.py)."""
    lines = ["[calibration]"] + [f"{key} = {toml_value(value)}"
                                 for key, value in {**(calibration or {}), "shuffle": False}.items()]
    for table in modifiers:
        lines.append("[[modifier]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items() if key != "group"]
        for group in table.get("group", []):
            lines.append("  [[modifier.group]]")
            lines += [f"  {key} = {toml_value(value)}" for key, value in group.items()]
    return "\n".join(lines) + "\n"


def quantization_kwargs(table: dict) -> dict:
    """The QuantizationMixin keywords of an llmc quantizing modifier. [[modifier.group]] tables become config
    groups in order (calibrated_reference.py turns "groups" into config_groups)."""
    kwargs = {key: table.pop(key) for key in QUANT_KEYS if key in table}
    if "group" in kwargs:
        kwargs["groups"] = kwargs.pop("group")
    return kwargs


def sparsity_kwargs(table: dict) -> dict:
    kwargs = {key: table.pop(key) for key in ("targets", "ignore") if key in table}
    # the sparsity modifiers name a targeted Linear "<name>." (layer name + "." + its empty own name), so an exact
    # name in `ignore` never matches there: the regex of the name with an optional trailing dot ignores it
    kwargs["ignore"] = [name if name.startswith("re:") else rf"re:{re.escape(name)}\.?$"
                        for name in kwargs.get("ignore", [])]
    return kwargs


def reference_modifiers(modifiers) -> list:
    """[[class name, kwargs], ...] for calibrated_reference.py, equivalent to llmc's [[modifier]] tables."""
    out = []
    for original in modifiers:
        table = dict(original)
        plugin = table.pop("plugin")
        if plugin == "rtn":
            out.append(["QuantizationModifier", quantization_kwargs(table)])
        elif plugin == "gptq":
            kwargs = quantization_kwargs(table)
            for key in ("block_size", "dampening_frac", "weight_observer"):
                if key in table:
                    kwargs[key] = table.pop(key)
            if "actorder" in table:
                actorder = table.pop("actorder")
                kwargs["actorder"] = None if actorder == "none" else actorder
            out.append(["GPTQModifier", kwargs])
        elif plugin == "awq":
            # llmc's awq quantizes what it smoothed: the reference's AWQ transform then RTN with the same scheme
            # (what its legacy AWQModifier(scheme=...) expands to)
            quant = quantization_kwargs(table)
            awq = {"duo_scaling": {"true": True, "false": False, "both": "both"}[table.pop("duo_scaling", "true")]}
            if "n_grid" in table:
                awq["n_grid"] = table.pop("n_grid")
            out += [["AWQModifier", awq], ["QuantizationModifier", quant]]
        elif plugin == "smoothquant":
            out.append(["SmoothQuantModifier", {key: table.pop(key) for key in ("smoothing_strength", "algorithm",
                                                                                "ignore") if key in table}])
        elif plugin == "sparsegpt":
            kwargs = sparsity_kwargs(table)
            for key in ("sparsity", "mask_structure", "block_size", "dampening_frac"):
                if key in table:
                    kwargs[key] = table.pop(key)
            out.append(["SparseGPTModifier", kwargs])
        elif plugin == "wanda":
            kwargs = sparsity_kwargs(table)
            for key in ("sparsity", "mask_structure"):
                if key in table:
                    kwargs[key] = table.pop(key)
            out.append(["WandaPruningModifier", kwargs])
        else:
            raise AssertionError(f"no reference equivalent for plugin {plugin!r}")
        assert not table, f"{plugin}: keys without a reference equivalent: {sorted(table)}"
    return out


# ----------------------------------------------------------------------------------------------------------------
# The tiny models and the calibration data


def save_model(path: pathlib.Path, dtype: str, seed: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=VOCAB, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.uniform_(0.5, 1.5)
            elif name.endswith("embed_tokens.weight"):
                param.normal_(0.0, 1.0)
            else:
                param.normal_(0.0, 0.05)
        model.model.embed_tokens.weight[:, [3, 77, 200]] *= 8.0  # outlier channels
        model.model.layers[0].input_layernorm.weight[7] = 0.0  # a dead input column of layer 0's q/k/v_proj
    model.to(getattr(torch, dtype)).save_pretrained(path)


def token_rows(count: int, length: int, seed: int) -> list:
    import torch

    return torch.randint(0, VOCAB, (count, length), generator=torch.Generator().manual_seed(seed)).tolist()


def write_jsonl(path: pathlib.Path, rows: list) -> pathlib.Path:
    path.write_text("".join(json.dumps({"input_ids": row}) + "\n" for row in rows))
    return path


# ----------------------------------------------------------------------------------------------------------------
# Running both sides


def run_llmc(llmc_bin, model_dir, recipe, output, dataset, samples, seq_len, matmul: str = "dtype",
             timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([str(llmc_bin), "oneshot", "--model", str(model_dir), "--recipe", str(recipe),
                           "--output", str(output), "--dataset", str(dataset), "--samples", str(samples),
                           "--max-seq-length", str(seq_len), "--matmul", matmul], capture_output=True, text=True,
                          timeout=timeout, env=single_thread_env())


class Parity(TieredParity):
    REFERENCE_SCRIPT = [REFERENCE_SCRIPT]
    REFERENCE_TIMEOUT_S = 900

    def __init__(self, root: pathlib.Path, llmc_bin: pathlib.Path):
        super().__init__(root, llmc_bin, CASES, MODELS, save_model)
        self.dataset = write_jsonl(root / "calibration.jsonl", token_rows(SAMPLES, SEQ_LEN, 1234))

    def reference_job(self, name: str, output: pathlib.Path) -> dict:
        return {"model": str(self.model_dir(CASES[name].model)), "modifiers": reference_modifiers(CASES[name].modifiers),
                "dataset": str(self.dataset), "max_seq_length": SEQ_LEN, "output": str(output)}

    def run_llmc(self, name: str, work: pathlib.Path, output: pathlib.Path) -> subprocess.CompletedProcess:
        recipe = work / f"{name}.toml"
        recipe.write_text(llmc_recipe(CASES[name].modifiers))
        return run_llmc(self.llmc_bin, self.model_dir(CASES[name].model), recipe, output, self.dataset, SAMPLES,
                        SEQ_LEN, CASES[name].matmul)


@pytest.fixture(scope="session")
def calibrated(llmc_bin, tmp_path_factory):
    return Parity(tmp_path_factory.mktemp("calibrated_parity"), llmc_bin)


# ----------------------------------------------------------------------------------------------------------------
# Reading checkpoints


def read_tensors(directory: pathlib.Path) -> dict:
    from safetensors.torch import load_file

    tensors = {}
    for path in sorted(directory.glob("*.safetensors")):
        tensors.update(load_file(path))
    return tensors


def read_config(directory: pathlib.Path) -> dict:
    return json.loads((directory / "config.json").read_text())


QPARAM_SUFFIXES = ("weight_scale", "weight_zero_point", "weight_global_scale", "input_scale", "input_global_scale",
                   "k_scale", "v_scale")
FP4_MAGNITUDES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def weight_codes(tensors: dict, module: str, num_bits: int):
    """A quantized module's stored weight values (rows x columns, float64: the integers of int formats, the
    grid values of fp8/fp4) and the grid's kind: "int", "fp8" or "fp4"."""
    import torch
    from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32

    if f"{module}.weight_packed" in tensors:
        packed = tensors[f"{module}.weight_packed"]
        if packed.dtype == torch.int32:  # pack-quantized: num_bits-wide ints in int32 words
            shape = tensors[f"{module}.weight_shape"].tolist()
            return unpack_from_int32(packed, num_bits, torch.Size(shape)).double(), "int"
        # nvfp4-pack-quantized: two e2m1 nibbles per byte, the low nibble first; bit 3 is the sign
        nibbles = torch.stack((packed & 0x0F, packed >> 4), dim=-1).reshape(packed.shape[0], -1).long()
        magnitude = torch.tensor(FP4_MAGNITUDES, dtype=torch.float64)[nibbles & 0x7]
        return torch.where(nibbles & 0x8 != 0, -magnitude, magnitude), "fp4"
    weight = tensors[f"{module}.weight"]
    if weight.dtype == torch.float8_e4m3fn:
        return weight.double(), "fp8"
    assert weight.dtype == torch.int8, f"{module}: unexpected stored weight dtype {weight.dtype}"
    return weight.double(), "int"


def grid_steps(ours, theirs, kind: str):
    """|ours - theirs| in steps of the grid where the larger magnitude of the two lies (1 for ints; fp8 e4m3:
    2^(e-3) in the binade [2^e, 2^(e+1)), 2^-9 among subnormals; fp4: 0.5 up to 2, 1 up to 4, 2 beyond)."""
    import torch

    difference = (ours - theirs).abs()
    if kind == "int":
        return difference
    larger = torch.maximum(ours.abs(), theirs.abs())
    if kind == "fp8":
        spacing = torch.exp2(torch.floor(torch.log2(larger.clamp_min(2.0 ** -6))) - 3)
    else:
        spacing = torch.where(larger <= 2, 0.5, torch.where(larger <= 4, 1.0, 2.0))
    return torch.ceil(difference / spacing)


def quantized_modules(tensors: dict) -> list:
    return sorted(name[: -len(".weight_scale")] for name in tensors if name.endswith(".weight_scale"))


def module_num_bits(config: dict, module: str) -> int:
    """The weights' num_bits of the config group whose targets cover `module` (the tiny cases use one group)."""
    groups = config["quantization_config"]["config_groups"]
    bits = {group["weights"]["num_bits"] for group in groups.values() if group.get("weights")}
    assert len(bits) == 1, f"{module}: several weight widths in one checkpoint: {bits}"
    return bits.pop()


def load_dequantized(directory: pathlib.Path, quantize_activations: bool = False):
    """transformers' model of a checkpoint, compressed weights decompressed (compressed-tensors' own
    decompression); activations fake-quantized by CT's forward only with quantize_activations."""
    import warnings

    from transformers import AutoModelForCausalLM

    if "quantization_config" not in read_config(directory):
        return AutoModelForCausalLM.from_pretrained(directory)
    from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
    from transformers.utils.quantization_config import CompressedTensorsConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = AutoModelForCausalLM.from_pretrained(directory,
                                                     quantization_config=CompressedTensorsConfig(dequantize=True))
    if not quantize_activations:
        model.apply(disable_quantization)
    return model


def held_out_logits(model):
    import torch

    tokens = torch.tensor(token_rows(4, SEQ_LEN, 99))
    with torch.no_grad():
        return model(tokens).logits.float()


def output_error(outcome: Outcome, directory: pathlib.Path) -> float:
    """Relative error of a compressed checkpoint's logits vs the uncompressed model's, on held-out tokens,
    activations quantized as the checkpoint says (what the model will run)."""
    # in float32 whatever the checkpoint dtype: CT decompresses NVFP4 weights to bfloat16 even in a float32 model
    base = held_out_logits(load_dequantized(outcome.model_dir).float())
    ours = held_out_logits(load_dequantized(directory, quantize_activations=True).float())
    return ((ours - base).norm() / base.norm()).item()


# ----------------------------------------------------------------------------------------------------------------
# Comparisons


def relative_difference(ours, theirs) -> float:
    ours, theirs = ours.double(), theirs.double()
    scale = theirs.abs().clamp_min(1e-30)
    return ((ours - theirs).abs() / scale).max().item() if theirs.numel() else 0.0


def code_differences(tensors: dict, ref_tensors: dict, config: dict) -> dict:
    """module -> (fraction of stored weight values that differ, largest difference in grid steps)."""
    out = {}
    for module in quantized_modules(ref_tensors):
        bits = module_num_bits(config, module)
        (ours, kind), (theirs, ref_kind) = weight_codes(tensors, module, bits), weight_codes(ref_tensors, module, bits)
        assert (list(ours.shape), kind) == (list(theirs.shape), ref_kind), f"{module}: {kind} vs {ref_kind} codes"
        out[module] = ((ours != theirs).double().mean().item(), int(grid_steps(ours, theirs, kind).max().item()))
    return out


def assert_same_tensor_set(outcome: Outcome) -> None:
    ours, theirs = read_tensors(outcome.llmc_dir), read_tensors(outcome.reference_dir)
    assert sorted(ours) == sorted(theirs), (f"only in llmc: {sorted(set(ours) - set(theirs))}; "
                                            f"only in the reference: {sorted(set(theirs) - set(ours))}")
    differences = [f"{name}: llmc {ours[name].dtype}{list(ours[name].shape)} vs reference "
                   f"{theirs[name].dtype}{list(theirs[name].shape)}" for name in sorted(ours)
                   if (ours[name].dtype, ours[name].shape) != (theirs[name].dtype, theirs[name].shape)]
    assert not differences, "\n".join(differences)


def assert_configs_equal(outcome: Outcome) -> None:
    differences = json_differences(read_config(outcome.llmc_dir), read_config(outcome.reference_dir))
    assert not differences, "\n".join(differences)


def ran_both(outcome: Outcome) -> None:
    assert outcome.reference.get("ok"), f"the reference failed: {outcome.reference}"
    assert outcome.llmc.returncode == 0, outcome.llmc.stderr


# ----------------------------------------------------------------------------------------------------------------
# Tests on the tiny models


COMPARED = [name for name, case in CASES.items() if not case.reference_error]
QUANTIZED = [name for name in COMPARED if CASES[name].check == "quantized"]
SPARSE_CASES = [name for name in COMPARED if CASES[name].check == "sparse"]


@pytest.mark.parametrize("name", tiered(CASES, COMPARED))
def test_same_tensors_and_config_as_the_reference(calibrated, name):
    outcome = calibrated.get(name)
    ran_both(outcome)
    assert_same_tensor_set(outcome)
    assert_configs_equal(outcome)


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZED))
def test_quantization_parameters_equal_the_reference(calibrated, name):
    import torch

    tolerance, outcome = CASES[name].tolerance, calibrated.get(name)
    ran_both(outcome)
    ours, theirs = read_tensors(outcome.llmc_dir), read_tensors(outcome.reference_dir)
    names = sorted(n for n in theirs if n.endswith(QPARAM_SUFFIXES) and n in ours)
    assert names
    differences = []
    for tensor in names:
        if tolerance.qparam_rel == 0.0 or ours[tensor].dtype in (torch.int8, torch.int32):
            if not torch.equal(ours[tensor].view(torch.uint8) if ours[tensor].is_floating_point() else ours[tensor],
                               theirs[tensor].view(torch.uint8) if theirs[tensor].is_floating_point()
                               else theirs[tensor]):
                differing = (ours[tensor] != theirs[tensor]).sum().item()
                differences.append(f"{tensor}: {differing} of {theirs[tensor].numel()} differ, max relative "
                                   f"{relative_difference(ours[tensor], theirs[tensor]):.3g}")
        elif (relative := relative_difference(ours[tensor].float(), theirs[tensor].float())) > tolerance.qparam_rel:
            differences.append(f"{tensor}: max relative difference {relative:.3g} > {tolerance.qparam_rel}")
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZED))
def test_weight_codes_match_the_reference(calibrated, name):
    tolerance, outcome = CASES[name].tolerance, calibrated.get(name)
    ran_both(outcome)
    ours, theirs = read_tensors(outcome.llmc_dir), read_tensors(outcome.reference_dir)
    by_module = code_differences(ours, theirs, read_config(outcome.reference_dir))
    assert by_module
    failures = [f"{module}: {fraction:.4%} of codes differ (at most {tolerance.code_fraction:.2%}), "
                f"by up to {steps} steps (at most {tolerance.code_steps})"
                for module, (fraction, steps) in by_module.items()
                if fraction > tolerance.code_fraction or steps > tolerance.code_steps]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZED + SPARSE_CASES))
def test_dequantized_weights_match_the_reference(calibrated, name):
    """Every tensor of transformers' decompressed models: each Linear weight within dense_rel (relative
    Frobenius), every other tensor (embeddings, norms, head) within dense_rel elementwise."""
    tolerance, outcome = CASES[name].tolerance, calibrated.get(name)
    ran_both(outcome)
    ours, theirs = (load_dequantized(d).state_dict() for d in (outcome.llmc_dir, outcome.reference_dir))
    assert sorted(ours) == sorted(theirs)
    failures = []
    for tensor, value in theirs.items():
        if tensor.endswith(QPARAM_SUFFIXES):  # test_quantization_parameters_equal_the_reference's
            continue
        mine = ours[tensor]
        assert mine.dtype == value.dtype and mine.shape == value.shape, tensor
        if value.dim() == 2 and "embed_tokens" not in tensor and "lm_head" not in tensor:
            difference = ((mine.double() - value.double()).norm() / value.double().norm()).item()
        else:
            difference = relative_difference(mine, value)
        if difference > tolerance.dense_rel:
            failures.append(f"{tensor}: relative difference {difference:.3g} > {tolerance.dense_rel}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", tiered(CASES, SPARSE_CASES))
def test_sparsity_masks_equal_the_reference(calibrated, name):
    outcome = calibrated.get(name)
    ran_both(outcome)
    ours, theirs = read_tensors(outcome.llmc_dir), read_tensors(outcome.reference_dir)
    pruned = [tensor for tensor, value in theirs.items() if value.dim() == 2 and (value == 0).any()]
    assert pruned, "the reference pruned nothing"
    failures = []
    for tensor in sorted(pruned):
        mask, ref_mask = ours[tensor] == 0, theirs[tensor] == 0
        assert abs(ref_mask.double().mean().item() - 0.5) < 0.01, tensor  # 50% in both structures
        if (mask != ref_mask).any():
            failures.append(f"{tensor}: {(mask != ref_mask).sum().item()} of {mask.numel()} mask entries differ")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", tiered(CASES, COMPARED))
def test_output_error_matches_the_reference(calibrated, name):
    """The relative error of the logits vs the uncompressed model's: llmc's within quality_rel of the
    reference's. The one check of a multi-modifier recipe (each side's pipeline is its own by design)."""
    tolerance, outcome = CASES[name].tolerance, calibrated.get(name)
    ran_both(outcome)
    ours, theirs = output_error(outcome, outcome.llmc_dir), output_error(outcome, outcome.reference_dir)
    assert theirs > 0
    assert abs(ours / theirs - 1) <= tolerance.quality_rel, f"llmc {ours:.5g} vs reference {theirs:.5g}"


@pytest.mark.slow
def test_gptq_actorder_group_is_refused_as_the_reference_refuses_it(calibrated):
    """compressed-tensors 0.19 removed actorder "group" (it no longer loads weight_g_idx) and llmcompressor 0.14
    refuses it: llmc refuses it too, naming the key, and writes nothing."""
    name = "gptq_w4a16_actorder_group"
    outcome = calibrated.get(name)
    assert outcome.reference.get("error") == "ValueError", outcome.reference
    assert CASES[name].reference_error in outcome.reference["message"]
    assert outcome.llmc.returncode == 2, outcome.llmc.stderr
    assert "actorder" in outcome.llmc.stderr and "compressed-tensors 0.19" in outcome.llmc.stderr
    assert not outcome.llmc_dir.exists()


# ----------------------------------------------------------------------------------------------------------------
# SmolLM2: the issue's recipes, perplexity of llmc's result vs the reference's

# recipes/<name>.toml; the reference runs reference_modifiers() of the same tables
ISSUE_RECIPES = ["w4a16-gptq", "w4a16-awq", "w8a8-int8", "fp8-static-kv", "nvfp4", "sparse-2of4-w4a16",
                 "int4-fp8-sensitive-gptq"]
# GPL-3 is 7639 SmolLM2 tokens (29 windows of 256); 16 keep the reference's AWQ under half an hour on one thread
SMOLLM2_SAMPLES, SMOLLM2_SEQ_LEN = 16, 256
EVAL_TEXT = pathlib.Path("/usr/share/common-licenses/Apache-2.0")
CALIBRATION_TEXT = pathlib.Path("/usr/share/common-licenses/GPL-3")


def read_recipe(path: pathlib.Path) -> tuple:
    """(the [[modifier]] tables of a recipe file, [[modifier.group]] tables kept under "group"; its [calibration]
    table without the keys the command line sets)."""
    recipe = tomllib.loads(path.read_text())
    calibration = {key: value for key, value in recipe.get("calibration", {}).items()
                   if key not in ("dataset", "samples", "max_seq_length")}
    return recipe["modifier"], calibration


class SmolLM2Runs:
    """Each issue recipe on SmolLM2, run on demand (so that -k picks recipes): llmc alone, or llmc with the
    reference in a background subprocess beside it. The calibration ids are SMOLLM2_SAMPLES consecutive windows of
    the GPL-3 text tokenized by SmolLM2's tokenizer."""

    def __init__(self, work: pathlib.Path, llmc_bin: pathlib.Path, checkpoint: pathlib.Path):
        from transformers import AutoTokenizer

        self.work, self.llmc_bin, self.checkpoint = work, llmc_bin, checkpoint
        ids = AutoTokenizer.from_pretrained(checkpoint)(CALIBRATION_TEXT.read_text())["input_ids"]
        rows = [ids[i:i + SMOLLM2_SEQ_LEN] for i in range(0, SMOLLM2_SAMPLES * SMOLLM2_SEQ_LEN, SMOLLM2_SEQ_LEN)]
        assert len(rows[-1]) == SMOLLM2_SEQ_LEN, "the calibration text is shorter than expected"
        self.dataset = write_jsonl(work / "calibration.jsonl", rows)
        self.llmc_results, self.reference_results = {}, {}

    def recipe_tables(self, name: str) -> tuple:
        path = SOURCE_DIR / "recipes" / f"{name}.toml"
        assert path.is_file(), f"recipe not found: {path}"
        return read_recipe(path)

    def llmc_dir(self, name: str) -> pathlib.Path:
        return self.work / "llmc" / name

    def reference_dir(self, name: str) -> pathlib.Path:
        return self.work / "reference" / name

    def llmc(self, name: str) -> subprocess.CompletedProcess:
        if name not in self.llmc_results:
            recipe = self.work / f"{name}.toml"  # the recipe's tables, the samples in file order as the reference's
            recipe.write_text(llmc_recipe(*self.recipe_tables(name)))
            # one thread, beside the reference: AWQ's grid search takes over 20 minutes so; the default --matmul,
            # as a user runs it (the chained runs below keep the reference's bf16 kernels: they must match it)
            self.llmc_results[name] = run_llmc(self.llmc_bin, self.checkpoint, recipe, self.llmc_dir(name),
                                               self.dataset, SMOLLM2_SAMPLES, SMOLLM2_SEQ_LEN, "auto", timeout=7200)
        return self.llmc_results[name]

    def chained_dir(self, name: str) -> pathlib.Path:
        return self.work / "chained" / name / "final"

    def chained(self, name: str) -> None:
        """llmc once per [[modifier]] table, each run on the previous one's output: the reference's pipeline, in
        which every modifier calibrates on the model all earlier modifiers have finished with."""
        modifiers, calibration = self.recipe_tables(name)
        model, work = self.checkpoint, self.work / "chained" / name
        work.mkdir(parents=True)
        for index, table in enumerate(modifiers):
            output = self.chained_dir(name) if index == len(modifiers) - 1 else work / f"after-{index + 1}"
            recipe = work / f"{index + 1}.toml"
            recipe.write_text(llmc_recipe([table], calibration))
            result = run_llmc(self.llmc_bin, model, recipe, output, self.dataset, SMOLLM2_SAMPLES, SMOLLM2_SEQ_LEN,
                              timeout=7200)
            assert result.returncode == 0, result.stderr
            model = output

    def both(self, name: str) -> tuple:
        if name not in self.reference_results:
            work = self.work / f"reference-{name}"
            work.mkdir()
            job = {"model": str(self.checkpoint), "modifiers": reference_modifiers(self.recipe_tables(name)[0]),
                   "dataset": str(self.dataset), "max_seq_length": SMOLLM2_SEQ_LEN,
                   "output": str(self.reference_dir(name))}
            reference = start_reference(work, [REFERENCE_SCRIPT], {name: job})
            try:
                self.llmc(name)
            finally:
                self.reference_results[name] = finish_reference(work, reference, timeout=7200)[name]
        return self.llmc(name), self.reference_results[name]


@pytest.fixture(scope="module")
def smollm2_runs(llmc_bin, smollm2_checkpoint, tmp_path_factory):
    return SmolLM2Runs(tmp_path_factory.mktemp("smollm2_parity"), llmc_bin, smollm2_checkpoint)


def perplexity(llmc_bin, original: pathlib.Path, compressed: pathlib.Path, report: pathlib.Path) -> float:
    result = subprocess.run([str(llmc_bin), "eval", "--model", str(original), "--compare", str(compressed),
                             "--data", str(EVAL_TEXT), "--json", str(report)], capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr
    return json.loads(report.read_text())["compare"]["perplexity"]


# Recipes whose later modifier calibrates on a layer an earlier one changed the function of (SparseGPT's zeros):
# llmc runs the whole recipe in one pass over the layers, so every modifier of layer i sees the inputs of layers
# 0..i-1 in their final state; the reference runs one pass per modifier, so GPTQ calibrates on a model pruned but not
# yet quantized. There llmc chained (one run per modifier) must give the reference's perplexity, and its one pass
# a perplexity no worse. (Measured 2026-11-23, 16 x 256 GPL-3 tokens: chained 90.6102 = reference 90.6102 to every
# digit; one pass 71.4075.)
ONE_PASS_DIFFERS = {"sparse-2of4-w4a16"}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ISSUE_RECIPES)
def test_smollm2_perplexity_within_1_percent_of_the_reference(llmc_bin, smollm2_checkpoint, smollm2_runs, recipe):
    """Both results scored by the same `llmc eval` on the Apache-2.0 text (activations quantized as the
    checkpoints say): llmc's perplexity within 1% of the reference's."""
    llmc, reference = smollm2_runs.both(recipe)
    assert reference.get("ok"), f"the reference failed: {reference}"
    assert llmc.returncode == 0, llmc.stderr
    work = smollm2_runs.work
    ours = perplexity(llmc_bin, smollm2_checkpoint, smollm2_runs.llmc_dir(recipe), work / f"{recipe}.llmc.json")
    theirs = perplexity(llmc_bin, smollm2_checkpoint, smollm2_runs.reference_dir(recipe), work / f"{recipe}.ref.json")
    assert math.isfinite(theirs)
    if recipe in ONE_PASS_DIFFERS:
        smollm2_runs.chained(recipe)
        chained = perplexity(llmc_bin, smollm2_checkpoint, smollm2_runs.chained_dir(recipe),
                             work / f"{recipe}.chained.json")
        assert abs(chained / theirs - 1) <= 0.01, f"llmc chained {chained:.4f} vs reference {theirs:.4f}"
        assert ours <= theirs * 1.01, f"llmc in one pass {ours:.4f} vs reference {theirs:.4f}"
    else:
        assert abs(ours / theirs - 1) <= 0.01, f"llmc {ours:.4f} vs reference {theirs:.4f}"


# A question SmolLM2-135M-Instruct answers right (greedy), and the word its answer must hold. (A second one, "How
# many days are there in a week?", the original answers with 7, but W4A16 GPTQ with 16 samples with "18", as the
# reference's checkpoint, the same bytes, does: a 135M model at 4 bits is not reliable at arithmetic.)
QUESTIONS = {"What is the capital of France?": "Paris", "What color is the sky on a clear day?": ""}


def greedy_answers(directory: pathlib.Path, tokenizer_dir: pathlib.Path) -> dict:
    """transformers loads the checkpoint (compressed-tensors decompresses it) and answers QUESTIONS greedily."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16).eval()
    answers = {}
    for question in QUESTIONS:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=24, do_sample=False)
        answers[question] = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    return answers


def wrong_answers(answers: dict) -> dict:
    """Answers without their word, or degenerate: fewer than 4 distinct words among the first 8 (a broken model
    repeats one token)."""
    return {question: answer for question, answer in answers.items()
            if QUESTIONS[question] not in answer or len(set(answer.split()[:8])) < 4}


# 2:4 sparsity breaks a 135M model's chat answers, in the reference's output as in llmc's (16 x 256 calibration
# tokens, measured 2026-11-23): the reference's answers "The International System of International Union of the
# National." and "The 2010-12212-12212-12212"; llmc's one-pass output ends its turn at once (<|im_end|> 32.5 over
# "The" 31.9). Their checkpoints must still load and generate.
BROKEN_CHAT = {"sparse-2of4-w4a16"}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ISSUE_RECIPES)
def test_smollm2_output_loads_in_transformers_and_answers(smollm2_checkpoint, smollm2_runs, recipe):
    """llmc's checkpoint of each issue recipe loads in transformers and answers as the original model does."""
    assert not wrong_answers(greedy_answers(smollm2_checkpoint, smollm2_checkpoint)), "the original model is wrong"
    result = smollm2_runs.llmc(recipe)
    assert result.returncode == 0, result.stderr
    answers = greedy_answers(smollm2_runs.llmc_dir(recipe), smollm2_checkpoint)
    print(recipe, answers)
    if recipe in BROKEN_CHAT and wrong_answers(answers):
        pytest.xfail(f"2:4 sparsity breaks SmolLM2-135M's answers in both tools: {answers}")
    assert not wrong_answers(answers), answers
