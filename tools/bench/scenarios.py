"""What the benchmark runs: models, methods (one recipe expressed for both tools), and the targets of issue 6.

A scenario is a method applied to a model. Adding a method is one entry in METHODS: its quantization arguments
(compressed-tensors field names, shared by llmc's TOML recipe and the reference's modifier), the llmc plugin and
the reference modifier that run them, and the targets it is judged by. The calibrated methods (GPTQ, AWQ,
SmoothQuant) join once llmc has them; they will also need the calibration tokens passed to both tools."""
import dataclasses
import json
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Model:
    name: str
    description: str
    gguf: bool  # True: imported from the default GGUF with `llmc import-gguf`; False: made by llmc-synth
    synth_preset: str  # llmc-synth --preset (synthetic models)
    int4_group_size: int  # the largest of 128/64 that divides every Linear's input width
    eval_windows: int  # 512-token windows that `llmc eval` scores; 0: quality not measured


MODELS = {
    "smollm2": Model("smollm2", "SmolLM2-135M-Instruct imported from its Q4_1 GGUF (bf16, 270 MB)", True, "", 64, 4),
    "llama-1b": Model("llama-1b", "synthetic Llama-3.2-1B shapes, random bf16 weights (2.5 GB)", False, "llama-1b",
                      128, 0),
    "tiny": Model("tiny", "synthetic tiny Llama (2 layers, hidden 64), random bf16 weights", False, "tiny", 64, 2),
}


@dataclasses.dataclass(frozen=True)
class Targets:
    """Issue 6's targets for a method, as bounds on medians of per-repeat llmc/reference ratios."""
    max_wall_ratio: float
    max_peak_rss_ratio: float
    min_bandwidth_fraction: float | None = None  # of the measured sequential read+write bandwidth (disk figure)


DATA_FREE_TARGETS = Targets(max_wall_ratio=1 / 5, max_peak_rss_ratio=1 / 4, min_bandwidth_fraction=1 / 2)


def int4_weights(group_size: int) -> dict:
    return {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": group_size}


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    description: str
    llmc_plugin: str
    reference_modifier: str  # a class of llmcompressor.modifiers.quantization
    quantization: Callable[[Model], dict]  # targets, ignore, and scheme or explicit arguments
    targets: Targets


METHODS = {
    # W4A16's preset group size (128) does not divide SmolLM2's width 576: both tools refuse it, so the weights
    # are given explicitly with the model's group size (with 128 they equal the preset).
    "w4a16": Method("w4a16", "data-free W4A16: int4 symmetric weights per group, round to nearest", "rtn",
                    "QuantizationModifier",
                    lambda model: {"targets": ["Linear"], "ignore": ["lm_head"],
                                   "weights": int4_weights(model.int4_group_size)},
                    DATA_FREE_TARGETS),
    "fp8_dynamic": Method("fp8_dynamic", "data-free FP8_DYNAMIC: FP8 weights per channel, dynamic per-token "
                          "activations", "rtn", "QuantizationModifier",
                          lambda model: {"targets": ["Linear"], "ignore": ["lm_head"], "scheme": "FP8_DYNAMIC"},
                          DATA_FREE_TARGETS),
}


@dataclasses.dataclass(frozen=True)
class Scenario:
    method: Method
    model: Model

    @property
    def name(self) -> str:
        return f"{self.method.name}/{self.model.name}"

    def quantization(self) -> dict:
        return self.method.quantization(self.model)

    def llmc_recipe(self) -> str:
        return llmc_recipe(self.method.llmc_plugin, self.quantization())

    def reference_args(self) -> dict:
        return {"modifier": self.method.reference_modifier, **self.quantization()}


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)  # JSON string escapes are valid in TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"


def llmc_recipe(plugin: str, quantization: dict) -> str:
    lines = ["[[modifier]]", f"plugin = {toml_value(plugin)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in quantization.items()]
    return "\n".join(lines) + "\n"


def select(names: str, table: dict, what: str) -> list:
    """The entries of TABLE named in the comma-separated NAMES, in that order; a clear error for unknown names."""
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in table]
    if unknown or not chosen:
        raise SystemExit(f"unknown {what}: {', '.join(unknown) or '(none given)'}; known: {', '.join(table)}")
    return [table[name] for name in chosen]
