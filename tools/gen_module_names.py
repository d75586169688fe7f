#!/usr/bin/env python3
"""Writes the module-name fixtures of the recipe tests: tests/data/module_names/<arch>.txt and
<arch>.golden.json.

For each architecture it builds a tiny random model with transformers (2 layers, small dims) and, for MoE
models, linearizes the experts as llmcompressor's oneshot does before matching (one Linear per expert
projection). <arch>.txt lists named_modules(), one per line:

    <name> <ClassName> <MRO class names, comma-separated>

(the root module, whose name is empty, is left out; only torch.nn.Module classes of the MRO are listed,
as compressed-tensors' class matching considers only those). <arch>.golden.json holds what
compressed-tensors itself matches for a set of target/ignore cases: `targets` cases through
match_named_modules, `groups` cases through the config-group choice of apply_quantization_config
(match_targets, later groups overriding a repeated target string).

Run with the project's reference Python:  .venv/bin/python3 tools/gen_module_names.py
"""

import argparse
import json
import pathlib
from collections import OrderedDict

import compressed_tensors
import llmcompressor
import torch
import transformers
from compressed_tensors.utils import match_named_modules, match_targets
from llmcompressor.modeling.moe.linearize import linearize_moe

COMMON = dict(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
)

ARCHS = {
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM, {}),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM, {}),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM, {}),
    "mixtral": (
        transformers.MixtralConfig,
        transformers.MixtralForCausalLM,
        dict(num_local_experts=3, num_experts_per_tok=2),
    ),
    "qwen3_moe": (
        transformers.Qwen3MoeConfig,
        transformers.Qwen3MoeForCausalLM,
        dict(num_experts=3, num_experts_per_tok=2, moe_intermediate_size=16),
    ),
}

ATTN = r"re:.*self_attn\.(q|k|v|o)_proj$"
CASES = [
    {"targets": ["Linear"], "ignore": ["lm_head"]},
    {"targets": [ATTN], "ignore": []},
    {"targets": [r"re:.*mlp\.experts.*"], "ignore": []},
    {"targets": ["Linear"], "ignore": ["lm_head", r"re:.*mlp\.gate$"]},
    {"targets": ["re:model.layers.0"], "ignore": []},  # re.match: a prefix, not a full match
    {"targets": [r"re:layers\.0"], "ignore": []},  # anchored at the start: matches nothing
    {"targets": [r"re:.*layers\.(?P<layer>\d+)\.mlp\.down_proj\Z"], "ignore": []},
    {"targets": ["model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj", "lm_head"], "ignore": []},
    {
        "targets": ["Qwen3MoeSparseMoeBlock", "MixtralSparseMoeBlock", "LlamaRMSNorm", "Qwen2RMSNorm"],
        "ignore": ["model.norm"],
    },
    {"targets": ["Module"], "ignore": [r"re:model\.layers\.1\.", "Embedding", "ModuleList"]},
    {"targets": ["Linear", ATTN], "ignore": [r"re:.*\.(k|v)_proj$"]},
    # several groups: exact name > regex > class name
    {
        "groups": [["Linear"], [ATTN], ["model.layers.0.self_attn.q_proj", r"re:.*down_proj$"]],
        "ignore": ["lm_head"],
    },
    # two regexes of different groups claim the attention projections: CT takes the alphabetically first
    {"groups": [[r"re:.*self_attn.*"], [r"re:.*proj$"]], "ignore": []},
    # exact names of two groups: alphabetical again, not file order
    {
        "groups": [["model.layers.1.self_attn.o_proj", "Linear"], ["model.layers.1.self_attn.k_proj", "Embedding"]],
        "ignore": ["re:.*gate.*"],
    },
]


def build(arch: str) -> torch.nn.Module:
    config_cls, model_cls, extra = ARCHS[arch]
    torch.manual_seed(0)
    model = model_cls(config_cls(**COMMON, **extra))
    linearize_moe(model)  # what oneshot does to a model with fused experts; a no-op otherwise
    return model


def class_names(module: torch.nn.Module) -> list[str]:
    return [cls.__name__ for cls in type(module).__mro__ if issubclass(cls, torch.nn.Module)]


def resolve(model: torch.nn.Module, case: dict) -> list:
    if "targets" in case:
        return [name for name, _ in match_named_modules(model, case["targets"], case["ignore"]) if name]
    # apply_quantization_config's choice of config group, with the group index in place of the scheme
    target_to_group = OrderedDict()
    for index, targets in enumerate(case["groups"]):
        for target in targets:
            target_to_group[target] = index
    matched = []
    for name, module in match_named_modules(model, target_to_group, case["ignore"]):
        if name:
            matched.append([name, target_to_group[match_targets(name, module, target_to_group)[0]]])
    return matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=pathlib.Path, default=root / "tests" / "data" / "module_names")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    versions = (
        f"transformers {transformers.__version__}, compressed-tensors {compressed_tensors.__version__}, "
        f"llmcompressor {llmcompressor.__version__}, torch {torch.__version__}"
    )
    for arch in ARCHS:
        model = build(arch)
        lines = [f"# {type(model).__name__} from tools/gen_module_names.py ({versions})"]
        for name, module in model.named_modules():
            if name:
                lines.append(f"{name} {type(module).__name__} {','.join(class_names(module))}")
        (args.out / f"{arch}.txt").write_text("\n".join(lines) + "\n")
        golden = {
            "model": type(model).__name__,
            "versions": versions,
            "cases": [dict(case, matched=resolve(model, case)) for case in CASES],
        }
        (args.out / f"{arch}.golden.json").write_text(json.dumps(golden, indent=1) + "\n")
        print(f"{arch}: {len(lines) - 1} modules")


if __name__ == "__main__":
    main()
