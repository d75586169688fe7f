"""What the benchmark runs: models, methods (one recipe expressed for both tools), and the targets of issue 6.

A scenario is a method applied to a model. Adding a method is one entry in METHODS: llmc's [[modifier]] tables and
the reference's modifiers for the same quantization (compressed-tensors field names, shared by both), whether it
needs calibration data, and the targets it is judged by. Calibrated methods get the same token ids in both tools
(calibration.py), in file order.

Targets: the data-free methods' as issue 6 sets them. The issue sets GPTQ's (at least 3x faster, at most 1/2 of
the peak memory, no worse perplexity); AWQ and SmoothQuant+GPTQ are judged by the same, since they run through the
same calibrated pipeline in llmc (one pass over the layers) and in the reference (its sequential pipeline). "No
worse" is taken literally (a ratio of at most 1): equal algorithms on equal tokens land on either side of 1 by
rounding noise, which the table's 4-digit ratio shows."""
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


# SmolLM2 is scored on every 512-token window of the GPL-3 text (15, 7624 predicted tokens): on its first 4 alone,
# two GPTQ outputs of equal quality (the reference's, and llmc's with float32-widened products) came out 0.7% apart
# one way, and 0.2% apart the other way on all 15.
MODELS = {
    "smollm2": Model("smollm2", "SmolLM2-135M-Instruct imported from its Q4_1 GGUF (bf16, 270 MB)", True, "", 64, 15),
    "llama-1b": Model("llama-1b", "synthetic Llama-3.2-1B shapes, random bf16 weights (2.5 GB)", False, "llama-1b",
                      128, 0),
    "tiny": Model("tiny", "synthetic tiny Llama (2 layers, hidden 64), random bf16 weights", False, "tiny", 64, 2),
}


@dataclasses.dataclass(frozen=True)
class Targets:
    """Issue 6's targets for a method, as bounds on llmc/reference ratios: medians of per-repeat ratios for time and
    memory, the first outputs' scores for perplexity."""
    max_wall_ratio: float
    max_peak_rss_ratio: float
    min_bandwidth_fraction: float | None = None  # of the measured sequential read+write bandwidth (disk figure)
    max_perplexity_ratio: float | None = None  # judged where the model is scored (eval_windows > 0)


DATA_FREE_TARGETS = Targets(max_wall_ratio=1 / 5, max_peak_rss_ratio=1 / 4, min_bandwidth_fraction=1 / 2)
CALIBRATED_TARGETS = Targets(max_wall_ratio=1 / 3, max_peak_rss_ratio=1 / 2, max_perplexity_ratio=1.0)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One method for both tools: llmc's [[modifier]] tables, and the reference's modifiers as [class name, keyword
    arguments] (a class of llmcompressor.modifiers; reference_oneshot.py builds them)."""
    llmc: list
    reference: list


def int4_weights(group_size: int, symmetric: bool = True) -> dict:
    return {"num_bits": 4, "type": "int", "symmetric": symmetric, "strategy": "group", "group_size": group_size}


def every_linear_but_lm_head(**quantization) -> dict:
    return {"targets": ["Linear"], "ignore": ["lm_head"], **quantization}


def round_to_nearest(quantization: dict) -> Recipe:
    return Recipe(llmc=[{"plugin": "rtn", **quantization}], reference=[["QuantizationModifier", quantization]])


def gptq(quantization: dict) -> Recipe:
    return Recipe(llmc=[{"plugin": "gptq", **quantization}], reference=[["GPTQModifier", quantization]])


def awq(quantization: dict) -> Recipe:
    # llmc's awq plugin quantizes what it smoothed; the reference splits that into its AWQ transform and a
    # QuantizationModifier (what its deprecated AWQModifier(scheme=...) expands to)
    return Recipe(llmc=[{"plugin": "awq", **quantization, "duo_scaling": "true"}],
                  reference=[["AWQModifier", {"duo_scaling": True}], ["QuantizationModifier", quantization]])


def smoothquant_then_gptq(strength: float, quantization: dict) -> Recipe:
    smoothing = {"smoothing_strength": strength, "ignore": ["lm_head"]}
    return Recipe(llmc=[{"plugin": "smoothquant", **smoothing}, {"plugin": "gptq", **quantization}],
                  reference=[["SmoothQuantModifier", smoothing], ["GPTQModifier", quantization]])


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    description: str
    recipe: Callable[[Model], Recipe]
    targets: Targets
    calibrated: bool = False


METHODS = {
    # W4A16's preset group size (128) does not divide SmolLM2's width 576: both tools refuse it, so the weights
    # are given explicitly with the model's group size (with 128 they equal the preset).
    "w4a16": Method("w4a16", "data-free W4A16: int4 symmetric weights per group, round to nearest",
                    lambda model: round_to_nearest(every_linear_but_lm_head(
                        weights=int4_weights(model.int4_group_size))),
                    DATA_FREE_TARGETS),
    "fp8_dynamic": Method("fp8_dynamic", "data-free FP8_DYNAMIC: FP8 weights per channel, dynamic per-token "
                          "activations",
                          lambda model: round_to_nearest(every_linear_but_lm_head(scheme="FP8_DYNAMIC")),
                          DATA_FREE_TARGETS),
    "gptq_w4a16": Method("gptq_w4a16", "GPTQ W4A16: int4 symmetric weights per group, static activation order",
                         lambda model: gptq(every_linear_but_lm_head(
                             weights=int4_weights(model.int4_group_size), actorder="static", block_size=128,
                             dampening_frac=0.01)),
                         CALIBRATED_TARGETS, calibrated=True),
    "awq_w4a16": Method("awq_w4a16", "AWQ W4A16: int4 asymmetric weights per group, duo scaling",
                        lambda model: awq(every_linear_but_lm_head(
                            weights=int4_weights(model.int4_group_size, symmetric=False))),
                        CALIBRATED_TARGETS, calibrated=True),
    "sq_gptq_w8a8": Method("sq_gptq_w8a8", "SmoothQuant (strength 0.8), then GPTQ W8A8: int8 weights per channel, "
                           "dynamic per-token int8 activations",
                           lambda model: smoothquant_then_gptq(0.8, every_linear_but_lm_head(scheme="W8A8")),
                           CALIBRATED_TARGETS, calibrated=True),
}


@dataclasses.dataclass(frozen=True)
class Scenario:
    method: Method
    model: Model

    @property
    def name(self) -> str:
        return f"{self.method.name}/{self.model.name}"

    def recipe(self) -> Recipe:
        return self.method.recipe(self.model)

    def llmc_recipe(self) -> str:
        return llmc_recipe(self.recipe().llmc, self.method.calibrated)

    def reference_modifiers(self) -> list:
        return self.recipe().reference


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)  # JSON string escapes are valid in TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"


def llmc_recipe(modifiers: list, calibrated: bool) -> str:
    # calibration samples in file order, the order the reference gets them in (reference_oneshot.py)
    tables = ["[calibration]\nshuffle = false"] if calibrated else []
    tables += ["\n".join(["[[modifier]]"] + [f"{key} = {toml_value(value)}" for key, value in modifier.items()])
               for modifier in modifiers]
    return "\n\n".join(tables) + "\n"


def select(names: str, table: dict, what: str) -> list:
    """The entries of TABLE named in the comma-separated NAMES, in that order; a clear error for unknown names."""
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in table]
    if unknown or not chosen:
        raise SystemExit(f"unknown {what}: {', '.join(unknown) or '(none given)'}; known: {', '.join(table)}")
    return [table[name] for name in chosen]
