"""End-to-end parity of llmc's data-free RTN path (the stock `rtn` plugin) with the reference: LLM Compressor's
QuantizationModifier run by `oneshot` without data, saved with `save_pretrained(save_compressed=True)`.

For each case, the same weights (a tiny random Llama saved by transformers) go through both, and then
  (a) every tensor of llmc's checkpoint equals the reference's bit for bit (names, dtypes, shapes, raw bytes), and
      config.json (quantization_config included) equals the reference's field by field;
  (b) transformers loads both checkpoints the same way and their logits on a fixed token batch are equal exactly:
      the stored bytes are identical and the loader and the CPU forward are deterministic, so any difference at
      all would be a loader-visible difference between the files.

All reference checkpoints of a tier are made by ONE Python subprocess (this file run as a script), started in the
background while llmc runs its jobs; the subprocess keeps llmcompressor's global state (logging, patched
save_pretrained) out of the pytest process. The fast tier holds the cases CI must see; the rest is @slow.
"""
import dataclasses
import json
import os
import pathlib
import re
import struct
import subprocess
import sys
import time
import warnings

import pytest

from parity_support import TieredParity, single_thread_env, tiered

ATTN = r"re:.*self_attn\.(q|k|v|o)_proj$"
MLP = r"re:.*mlp\.(gate|up|down)_proj$"
INT4_G64 = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 64}
INT4_ASYM_CHANNEL_MSE = {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "channel", "observer": "mse"}
INT8_TENSOR = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "tensor"}
INT6_ASYM_G32_MSE = {"num_bits": 6, "type": "int", "symmetric": False, "strategy": "group", "group_size": 32,
                     "observer": "mse"}

# name -> (dtype, hidden, intermediate, seed, tied embeddings). "odd": widths 192 and 320 are not multiples of 128.
MODELS = {
    "bf16": ("bfloat16", 256, 512, 0, False),
    "fp16": ("float16", 256, 512, 1, False),
    "odd": ("bfloat16", 192, 320, 2, False),
    "fp32": ("float32", 256, 512, 3, False),
    "tied": ("bfloat16", 256, 512, 4, True),  # like SmolLM2: no lm_head.weight in the checkpoint
}

@dataclasses.dataclass(frozen=True)
class Case:
    model: str
    reference: dict  # QuantizationModifier keyword arguments besides ignore=["lm_head"] (JSON; see below)
    slow: bool = False
    expect_error: bool = False  # both refuse the recipe
    # Reference limitations in transformers' CPU forward (the same for both checkpoints; see the tests):
    forward_error: str = ""  # the plain forward raises this in both checkpoints
    logits_load: str = ""  # how to load both instead: "bfloat16" or "dequantize"
    # The one documented deviation: llmc writes this global+group format where the reference writes another.
    format_deviation: tuple = ()


# `reference` is JSON: {"targets", "scheme"}, {"targets", "weights"} (one explicit group), or "presets": a list of
# [preset, targets] that becomes config_groups {"group_i": preset_name_to_scheme(preset, targets)} -- the
# reference's equivalent of llmc's [[modifier.group]] tables with a `scheme`.
CASES = {
    # fast tier: the brief's schemes, on the aligned bf16 model unless named otherwise
    "w4a16": Case("bf16", {"targets": ["Linear"], "scheme": "W4A16"}),
    "w4a16_asym": Case("bf16", {"targets": ["Linear"], "scheme": "W4A16_ASYM"}),
    "w8a16": Case("bf16", {"targets": ["Linear"], "scheme": "W8A16"}),
    "fp8_dynamic": Case("bf16", {"targets": ["Linear"], "scheme": "FP8_DYNAMIC"}),
    "fp8_block": Case("bf16", {"targets": ["Linear"], "scheme": "FP8_BLOCK"}),
    "nvfp4a16": Case("bf16", {"targets": ["Linear"], "scheme": "NVFP4A16"}),
    "mxfp4a16": Case("bf16", {"targets": ["Linear"], "scheme": "MXFP4A16"}),
    # attention FP8_DYNAMIC + MLP W4A16: [[modifier.group]] tables vs config_groups, a mixed-precision checkpoint
    "mixed": Case("bf16", {"presets": [["FP8_DYNAMIC", [ATTN]], ["W4A16", [MLP]]]}),
    "fp16_w4a16_asym": Case("fp16", {"targets": ["Linear"], "scheme": "W4A16_ASYM"}),
    # FP8_BLOCK on widths 192 and 320: the weights are padded to whole 128x128 blocks for quantization. Its
    # dynamic group-128 activations cannot be formed on width 192 in CT's forward: both checkpoints fail there
    "odd_fp8_block": Case("odd", {"targets": ["Linear"], "scheme": "FP8_BLOCK"},
                          forward_error="unflatten", logits_load="dequantize"),
    "odd_int4_g64": Case("odd", {"targets": ["Linear"], "weights": INT4_G64}),
    "odd_w4a16_refused": Case("odd", {"targets": ["Linear"], "scheme": "W4A16"}, expect_error=True),
    "tied_w4a16_asym": Case("tied", {"targets": ["Linear"], "scheme": "W4A16_ASYM"}),
    # slow tier: further presets, dtypes, orders, strategies and observers
    "w8a8": Case("bf16", {"targets": ["Linear"], "scheme": "W8A8"}, slow=True),
    "w4a8": Case("bf16", {"targets": ["Linear"], "scheme": "W4A8"}, slow=True),
    "mxfp8a16": Case("bf16", {"targets": ["Linear"], "scheme": "MXFP8A16"}, slow=True),
    "mxfp4": Case("bf16", {"targets": ["Linear"], "scheme": "MXFP4"}, slow=True),
    # CT infers "int-quantized" (int4 values unpacked in int8) for int weights with float activations; llmc writes
    # "pack-quantized" on purpose, because vLLM's W4A8-FP8 kernel reads packed int4 (core/recipe/quant_scheme.h).
    "w4afp8": Case("bf16", {"targets": ["Linear"], "scheme": "W4AFP8"}, slow=True,
                   format_deviation=("pack-quantized", "int-quantized")),
    # groups listed MLP first: the reference numbers config groups in module order (attention = group_0)
    "mixed_mlp_first": Case("bf16", {"presets": [["W4A16", [MLP]], ["FP8_DYNAMIC", [ATTN]]]}, slow=True),
    # only the MLP targeted: the reference's ignore list names each untargeted Linear, in module order
    "mlp_only": Case("bf16", {"targets": [MLP], "scheme": "W4A16"}, slow=True),
    "fp16_fp8_dynamic": Case("fp16", {"targets": ["Linear"], "scheme": "FP8_DYNAMIC"}, slow=True),
    "fp16_fp8_block": Case("fp16", {"targets": ["Linear"], "scheme": "FP8_BLOCK"}, slow=True),
    # CT decompresses NVFP4 to bf16 whatever the model dtype, so an fp16 model's forward fails in both
    "fp16_nvfp4a16": Case("fp16", {"targets": ["Linear"], "scheme": "NVFP4A16"}, slow=True,
                          forward_error="expected m1 and m2 to have the same dtype", logits_load="bfloat16"),
    "odd_nvfp4a16": Case("odd", {"targets": ["Linear"], "scheme": "NVFP4A16"}, slow=True),
    "odd_mxfp4a16": Case("odd", {"targets": ["Linear"], "scheme": "MXFP4A16"}, slow=True),
    "fp32_w4a16_asym": Case("fp32", {"targets": ["Linear"], "scheme": "W4A16_ASYM"}, slow=True),
    "fp32_fp8_dynamic": Case("fp32", {"targets": ["Linear"], "scheme": "FP8_DYNAMIC"}, slow=True),
    "tied_fp8_dynamic": Case("tied", {"targets": ["Linear"], "scheme": "FP8_DYNAMIC"}, slow=True),
    # explicit args beyond the presets: the MSE weight observer, channel and tensor strategies, 6 bits
    "int4_asym_channel_mse": Case("bf16", {"targets": ["Linear"], "weights": INT4_ASYM_CHANNEL_MSE}, slow=True),
    "int8_tensor": Case("bf16", {"targets": ["Linear"], "weights": INT8_TENSOR}, slow=True),
    "odd_int6_asym_g32_mse": Case("odd", {"targets": ["Linear"], "weights": INT6_ASYM_G32_MSE}, slow=True),
}


# ----------------------------------------------------------------------------------------------------------------
# The tiny models and the llmc recipes


def save_model(path: pathlib.Path, dtype: str, hidden: int, intermediate: int, seed: int, tied: bool) -> None:
    """A seeded random Llama (2 layers, 4 heads, 2 KV heads, vocab 512) saved by transformers. Its
    weights are spread (std 0.05) so that every grid gets used, and each layer Linear carries edge cases in its
    first rows: an all-zero row, a row whose first 128 columns are zero (zero groups/blocks), an outlier, a row
    whose first 128 columns are one constant, and a row of tiny values (subnormal in fp16)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=512, hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=tied)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.05)
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and name != "lm_head":
                weight = module.weight
                weight[0].zero_()
                weight[1, :128].zero_()
                weight[2, 5] = 4.0
                weight[3, :128] = 0.03
                weight[4].mul_(1e-4)
    model.save_pretrained(path)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)  # JSON string escapes are valid in TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"


def llmc_recipe(reference: dict) -> str:
    """The llmc recipe equivalent to QuantizationModifier(ignore=["lm_head"], **reference)."""
    lines = ["[[modifier]]", 'plugin = "rtn"', 'ignore = ["lm_head"]']
    if "presets" in reference:
        for preset, targets in reference["presets"]:
            lines += ["  [[modifier.group]]", f"  targets = {toml_value(targets)}", f"  scheme = {toml_value(preset)}"]
    else:
        lines += [f"{key} = {toml_value(value)}" for key, value in reference.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# The reference side: this file run as a script in a subprocess


def reference_main(spec_path: str) -> None:
    """Make the reference checkpoints listed in SPEC: {"cases": {name: {"model": dir, "dtype", "reference",
    "output": dir}}, "results": path}; writes {name: {"ok": true} | {"error": type, "message": str}}."""
    import logging

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from compressed_tensors.quantization import preset_name_to_scheme
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from transformers import LlamaForCausalLM

    spec = json.loads(pathlib.Path(spec_path).read_text())
    results = {}
    for name, job in spec["cases"].items():
        kwargs = dict(job["reference"])
        if "presets" in kwargs:
            kwargs = {"config_groups": {f"group_{i}": preset_name_to_scheme(preset, targets)
                                        for i, (preset, targets) in enumerate(kwargs["presets"])}}
        elif "weights" in kwargs:
            kwargs = {"config_groups": {"group_0": {"targets": kwargs["targets"], "weights": kwargs["weights"]}}}
        started = time.perf_counter()
        try:
            # oneshot reads config.json from the model's name_or_path, so the model comes from its directory
            model = LlamaForCausalLM.from_pretrained(job["model"], dtype=getattr(torch, job["dtype"]))
            oneshot(model=model, recipe=QuantizationModifier(ignore=["lm_head"], **kwargs))
            model.save_pretrained(job["output"], save_compressed=True)
            results[name] = {"ok": True}
        except Exception as error:  # noqa: BLE001 -- recorded, judged by the test
            results[name] = {"error": type(error).__name__, "message": str(error)}
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
    pathlib.Path(spec["results"]).write_text(json.dumps(results, indent=1))


# ----------------------------------------------------------------------------------------------------------------
# Fixtures: the models, then one tier at a time (reference subprocess in the background, llmc jobs meanwhile)


class Parity(TieredParity):
    REFERENCE_SCRIPT = [__file__, "reference"]
    REFERENCE_TIMEOUT_S = 600

    def reference_job(self, name: str, output: pathlib.Path) -> dict:
        case = CASES[name]
        return {"model": str(self.model_dir(case.model)), "dtype": MODELS[case.model][0], "reference": case.reference,
                "output": str(output)}

    def run_llmc(self, name: str, work: pathlib.Path, output: pathlib.Path) -> subprocess.CompletedProcess:
        recipe = work / f"{name}.toml"
        recipe.write_text(llmc_recipe(CASES[name].reference))
        return subprocess.run([str(self.llmc_bin), "oneshot", "--model", str(self.model_dir(CASES[name].model)),
                               "--recipe", str(recipe), "--output", str(output)], capture_output=True, text=True,
                              timeout=300, env=single_thread_env())


@pytest.fixture(scope="session")
def parity(llmc_bin, tmp_path_factory):
    return Parity(tmp_path_factory.mktemp("rtn_parity"), llmc_bin, CASES, MODELS, save_model)


# ----------------------------------------------------------------------------------------------------------------
# Comparisons


def safetensors_entries(directory: pathlib.Path) -> dict:
    """name -> (dtype, shape, raw bytes) over every *.safetensors file of a checkpoint, read from the file itself
    (no torch conversion in between)."""
    entries = {}
    for path in sorted(directory.glob("*.safetensors")):
        data = path.read_bytes()
        (header_size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + header_size])
        base = 8 + header_size
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            assert name not in entries, f"{name} is stored twice"
            entries[name] = (info["dtype"], tuple(info["shape"]), data[base + begin:base + end])
    return entries


def json_differences(ours, theirs, path="") -> list:
    """Field paths where two JSON values differ (lists compared item by item, in order)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours or key not in theirs:
                out.append(f"{path}.{key}: llmc {ours.get(key, '<absent>')!r} vs reference "
                           f"{theirs.get(key, '<absent>')!r}")
            else:
                out += json_differences(ours[key], theirs[key], f"{path}.{key}")
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [d for i, (a, b) in enumerate(zip(ours, theirs)) for d in json_differences(a, b, f"{path}[{i}]")]
    if ours != theirs or type(ours) is not type(theirs):
        return [f"{path}: llmc {ours!r} vs reference {theirs!r}"]
    return []


def assert_tensors_equal(llmc_dir: pathlib.Path, reference_dir: pathlib.Path) -> None:
    ours, theirs = safetensors_entries(llmc_dir), safetensors_entries(reference_dir)
    assert sorted(ours) == sorted(theirs), (f"only in llmc: {sorted(set(ours) - set(theirs))}; "
                                            f"only in the reference: {sorted(set(theirs) - set(ours))}")
    differences = []
    for name in sorted(ours):
        (dtype, shape, data), (ref_dtype, ref_shape, ref_data) = ours[name], theirs[name]
        if (dtype, shape) != (ref_dtype, ref_shape):
            differences.append(f"{name}: llmc {dtype}{list(shape)} vs reference {ref_dtype}{list(ref_shape)}")
        elif data != ref_data:
            differing = sum(a != b for a, b in zip(data, ref_data))
            differences.append(f"{name}: {differing} of {len(data)} bytes differ")
    assert not differences, "\n".join(differences)


def read_config(directory: pathlib.Path) -> dict:
    return json.loads((directory / "config.json").read_text())


def assert_configs_equal(llmc_dir: pathlib.Path, reference_dir: pathlib.Path) -> None:
    ours, theirs = read_config(llmc_dir), read_config(reference_dir)
    differences = json_differences(ours["quantization_config"], theirs["quantization_config"], "quantization_config")
    differences += json_differences({k: v for k, v in ours.items() if k != "quantization_config"},
                                    {k: v for k, v in theirs.items() if k != "quantization_config"})
    assert not differences, "\n".join(differences)


TOKENS = None


def fixed_tokens():
    global TOKENS
    if TOKENS is None:
        import torch

        TOKENS = torch.randint(0, 512, (2, 24), generator=torch.Generator().manual_seed(1234))
    return TOKENS


def load(directory: pathlib.Path, how: str = ""):
    import torch
    from transformers import AutoModelForCausalLM

    if how == "dequantize":
        from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
        from transformers.utils.quantization_config import CompressedTensorsConfig

        with warnings.catch_warnings():  # "the quantization_config from the model will be used", dequantize kept
            warnings.simplefilter("ignore", UserWarning)
            model = AutoModelForCausalLM.from_pretrained(
                directory, quantization_config=CompressedTensorsConfig(dequantize=True))
        model.apply(disable_quantization)  # weight-only: the dequantized weights, no activation fake-quant
        return model
    if how == "bfloat16":
        return AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16)
    return AutoModelForCausalLM.from_pretrained(directory)


def logits(model):
    import torch

    with torch.no_grad():
        return model(fixed_tokens()).logits


def forward_error(model) -> str:
    try:
        logits(model)
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return ""


def assert_logits_equal(case: Case, llmc_dir: pathlib.Path, reference_dir: pathlib.Path) -> None:
    import torch

    if case.forward_error:
        # a reference limitation, not llmc's: loaded plainly, both checkpoints fail the same way
        errors = [forward_error(load(directory)) for directory in (llmc_dir, reference_dir)]
        assert case.forward_error in errors[1], f"the reference checkpoint's forward: {errors[1] or 'no error'}"
        assert errors[0] == errors[1]
    ours, theirs = (logits(load(directory, case.logits_load)) for directory in (llmc_dir, reference_dir))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert torch.isfinite(theirs).all()
    difference = (ours.float() - theirs.float()).abs().max().item()
    assert torch.equal(ours, theirs), f"logits differ by up to {difference}"
    if case.logits_load == "dequantize":  # the dense weights transformers rebuilt from each checkpoint
        state, ref_state = (load(directory, "dequantize").state_dict() for directory in (llmc_dir, reference_dir))
        assert sorted(state) == sorted(ref_state)
        for name in state:
            assert torch.equal(state[name], ref_state[name]), name


# ----------------------------------------------------------------------------------------------------------------
# Tests


QUANTIZING = [name for name, case in CASES.items() if not case.expect_error]


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZING))
def test_tensors_equal_the_reference(parity, name):
    case, outcome = CASES[name], parity.get(name)
    assert outcome.reference.get("ok"), f"the reference failed: {outcome.reference}"
    assert outcome.llmc.returncode == 0, outcome.llmc.stderr
    if case.format_deviation:  # other tensors; the same values
        assert_packed_values_equal(outcome.llmc_dir, outcome.reference_dir)
    else:
        assert_tensors_equal(outcome.llmc_dir, outcome.reference_dir)


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZING))
def test_config_equals_the_reference(parity, name):
    case, outcome = CASES[name], parity.get(name)
    assert outcome.reference.get("ok") and outcome.llmc.returncode == 0
    if not case.format_deviation:
        assert_configs_equal(outcome.llmc_dir, outcome.reference_dir)
        return
    # the documented deviation: only the formats differ, globally and in every group
    ours, theirs = read_config(outcome.llmc_dir), read_config(outcome.reference_dir)
    quant, ref_quant = ours["quantization_config"], theirs["quantization_config"]
    assert (quant["format"], ref_quant["format"]) == case.format_deviation
    for config in (quant, ref_quant):
        for scheme in config["config_groups"].values():
            assert scheme["format"] == config["format"]
            scheme["format"] = None
        config["format"] = None
    differences = json_differences(ours, theirs)
    assert not differences, "\n".join(differences)


def assert_packed_values_equal(llmc_dir: pathlib.Path, reference_dir: pathlib.Path) -> None:
    """pack-quantized (llmc) vs int-quantized (reference): the same int4 values, scales bit for bit."""
    import torch
    from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32
    from safetensors.torch import load_file

    ours, theirs = load_file(llmc_dir / "model.safetensors"), load_file(reference_dir / "model.safetensors")
    unpacked_modules = [name[: -len(".weight")] for name, value in theirs.items()
                        if name.endswith(".weight") and value.dtype == torch.int8]
    assert unpacked_modules
    assert sorted(ours) == sorted(set(theirs) - {f"{m}.weight" for m in unpacked_modules}
                                  | {f"{m}.weight_{part}" for m in unpacked_modules for part in ("packed", "shape")})
    for name, value in theirs.items():
        if name.endswith(".weight") and value.dtype == torch.int8:
            module = name[: -len(".weight")]
            unpacked = unpack_from_int32(ours[f"{module}.weight_packed"], 4, ours[f"{module}.weight_shape"])
            assert unpacked.dtype == value.dtype and torch.equal(unpacked, value), name
        else:
            assert ours[name].dtype == value.dtype and ours[name].shape == value.shape, name
            assert torch.equal(ours[name].view(torch.uint8), value.view(torch.uint8)), name


@pytest.mark.parametrize("name", tiered(CASES, QUANTIZING))
def test_transformers_logits_equal_the_reference(parity, name):
    outcome = parity.get(name)
    assert outcome.reference.get("ok") and outcome.llmc.returncode == 0
    assert_logits_equal(CASES[name], outcome.llmc_dir, outcome.reference_dir)


def test_group_size_that_does_not_divide_a_width_is_refused_by_both(parity):
    outcome = parity.get("odd_w4a16_refused")
    assert outcome.reference.get("error") == "ValueError", outcome.reference
    assert "not divisible by group_size" in outcome.reference["message"]
    assert "model.layers.0.self_attn.q_proj" in outcome.reference["message"]
    assert outcome.llmc.returncode == 3, outcome.llmc.stderr
    message = outcome.llmc.stderr
    assert "group_size 128 does not divide" in message
    assert re.search(r"model\.layers\.0\.self_attn\.q_proj \(192 columns\)", message), message
    assert "64" in message.split("fit every targeted layer", 1)[-1], message
    assert not outcome.llmc_dir.exists()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "reference":
    reference_main(sys.argv[2])
