"""Reference checkpoints and packing vectors for tests/unit/format, made with the installed reference stack
(compressed-tensors, LLM Compressor, transformers).

usage: make_reference_checkpoints.py OUT_DIR

OUT_DIR/base/          the unquantized model.
OUT_DIR/<case>/        a tiny random LlamaForCausalLM (bf16) quantized data-free by LLM Compressor's
                       QuantizationModifier (oneshot without data), saved with save_compressed=True.
OUT_DIR/cases.json     {"modules": [[name, class name], ...] (named_modules() of the model, in order),
                        "cases": {case: llmc TOML recipe text equivalent to the case's QuantizationModifier}}
OUT_DIR/packing.safetensors
                       CT's own packers on random values: int_<nb>_<rows>x<cols> (int8 input) ->
                       ..._packed_d<dim> (int32, packed along dim); fp4_<rows>x<cols> (float32 E2M1 grid values, with -0) ->
                       ..._packed (uint8); int_3d_<nb> (3-D MoE) -> ..._packed.
"""

import json
import logging
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
try:
    from loguru import logger

    logger.remove()
except ImportError:
    pass

from compressed_tensors.compressors.nvfp4.helpers import pack_fp4_to_uint8
from compressed_tensors.compressors.pack_quantized.helpers import pack_to_int32
from safetensors.torch import save_file

INT4_ASYM_G32 = {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "group", "group_size": 32}
INT2_ASYM_CHANNEL = {"num_bits": 2, "type": "int", "symmetric": False, "strategy": "channel"}
INT3_SYM_G64 = {"num_bits": 3, "type": "int", "symmetric": True, "strategy": "group", "group_size": 64}
INT5_ASYM_TENSOR = {"num_bits": 5, "type": "int", "symmetric": False, "strategy": "tensor"}
ATTN = r"re:.*self_attn\.(q|k|v|o)_proj$"
MLP = r"re:.*mlp\.(gate|up|down)_proj$"

# case -> QuantizationModifier keyword arguments (besides ignore=["lm_head"])
CASES = {
    "w4a16": {"targets": ["Linear"], "scheme": "W4A16"},
    "w4a16_asym": {"targets": ["Linear"], "scheme": "W4A16_ASYM"},
    "w8a16": {"targets": ["Linear"], "scheme": "W8A16"},
    "w8a8": {"targets": ["Linear"], "scheme": "W8A8"},
    "fp8_dynamic": {"targets": ["Linear"], "scheme": "FP8_DYNAMIC"},
    "fp8_block": {"targets": ["Linear"], "scheme": "FP8_BLOCK"},
    "nvfp4a16": {"targets": ["Linear"], "scheme": "NVFP4A16"},
    "mxfp4a16": {"targets": ["Linear"], "scheme": "MXFP4A16"},
    # two formats: MLP int4 asymmetric group 32, attention FP8 dynamic (the reference numbers the groups in
    # module order, so the attention group becomes group_0)
    "mixed": {"config_groups": {
        "group_0": {"targets": [MLP], "weights": INT4_ASYM_G32},
        "group_1": {"targets": [ATTN], "weights": {"num_bits": 8, "type": "float", "strategy": "channel"},
                    "input_activations": {"num_bits": 8, "type": "float", "strategy": "token", "dynamic": True}}}},
    # only the MLP: the reference's ignore list names every attention projection too
    "mlp_only": {"targets": [MLP], "scheme": "W4A16"},
    # one format, three groups of odd widths: dense cross-word packing, packed zero points along dim 0,
    # and an unpacked tensor-strategy zero point
    "odd_bits": {"config_groups": {
        "group_0": {"targets": [r"re:.*self_attn\.(q|k|v)_proj$"], "weights": INT2_ASYM_CHANNEL},
        "group_1": {"targets": [r"re:.*self_attn\.o_proj$", r"re:.*mlp\.down_proj$"], "weights": INT3_SYM_G64},
        "group_2": {"targets": [r"re:.*mlp\.(gate|up)_proj$"], "weights": INT5_ASYM_TENSOR}}},
}


def save_tiny_llama(path: str) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=256, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    with torch.no_grad():  # spread the weights so that every quantization grid gets used
        for param in model.parameters():
            param.normal_(0.0, 0.05)
    model.save_pretrained(path)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)  # JSON string escapes are valid in TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"


def llmc_recipe(kwargs: dict) -> str:
    lines = ["[[modifier]]", 'plugin = "rtn"', 'ignore = ["lm_head"]']
    if "scheme" in kwargs:
        lines += [f"targets = {toml_value(kwargs['targets'])}", f"scheme = {toml_value(kwargs['scheme'])}"]
    else:
        for group in kwargs["config_groups"].values():
            lines.append("  [[modifier.group]]")
            lines += [f"  {key} = {toml_value(value)}" for key, value in group.items()]
    return "\n".join(lines) + "\n"


def make_case(name: str, kwargs: dict, out_dir: str) -> None:
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from transformers import LlamaForCausalLM

    # oneshot reads config.json from the model's name_or_path, so the model comes from a directory
    model = LlamaForCausalLM.from_pretrained(os.path.join(out_dir, "base"), dtype=torch.bfloat16)
    oneshot(model=model, recipe=QuantizationModifier(ignore=["lm_head"], **kwargs))
    model.save_pretrained(os.path.join(out_dir, name), save_compressed=True)


def packing_vectors() -> dict:
    generator = torch.Generator().manual_seed(1)
    tensors = {}
    for nb in range(1, 9):
        low, high = -(1 << (nb - 1)), (1 << (nb - 1))
        for rows, cols in ((3, 7), (5, 32), (4, 100), (2, 257)):
            value = torch.randint(low, high, (rows, cols), generator=generator, dtype=torch.int8)
            key = f"int_{nb}_{rows}x{cols}"
            tensors[key] = value
            for dim in (0, 1):
                tensors[f"{key}_packed_d{dim}"] = pack_to_int32(value, nb, packed_dim=dim).contiguous()
        value = torch.randint(low, high, (3, 5, 40), generator=generator, dtype=torch.int8)
        tensors[f"int_3d_{nb}"] = value
        tensors[f"int_3d_{nb}_packed"] = pack_to_int32(value, nb).contiguous()
    grid = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
    for rows, cols in ((4, 8), (7, 64)):
        magnitude = grid[torch.randint(0, 8, (rows, cols), generator=generator)]
        sign = torch.where(torch.rand(rows, cols, generator=generator) < 0.5, -1.0, 1.0)
        value = magnitude * sign  # includes -0.0
        tensors[f"fp4_{rows}x{cols}"] = value
        tensors[f"fp4_{rows}x{cols}_packed"] = pack_fp4_to_uint8(value).contiguous()
    return tensors


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    save_file(packing_vectors(), os.path.join(out_dir, "packing.safetensors"), metadata={"format": "pt"})
    save_tiny_llama(os.path.join(out_dir, "base"))
    for name, kwargs in CASES.items():
        make_case(name, kwargs, out_dir)
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(os.path.join(out_dir, "base"))
    modules = [[name, type(module).__name__] for name, module in model.named_modules() if name]
    cases = {name: llmc_recipe(kwargs) for name, kwargs in CASES.items()}
    with open(os.path.join(out_dir, "cases.json"), "w") as file:
        json.dump({"modules": modules, "cases": cases}, file, indent=1)


if __name__ == "__main__":
    main()
