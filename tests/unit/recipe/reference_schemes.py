"""The reference side of presets_reference_test.cpp: resolves quantization schemes with the installed LLM
Compressor / compressed-tensors, as a QuantizationModifier would, and writes them as JSON.

usage: reference_schemes.py REQUEST.json RESPONSE.json

REQUEST:  {"presets": [name, ...], "groups": [{"targets": [...], "weights": {...}, ...}, ...],
           "kv_cache_schemes": [{...QuantizationArgs...}, ...]}
RESPONSE: {"presets": {name: {"scheme": {...}, "format": str}}, "groups": [{"scheme": {...}, "format": str}
           or {"error": str}], "kv_cache_schemes": [{"args": {...}} or {"error": str}]}

"scheme" is QuantizationModifier(...).resolved_config's config group, model_dump(mode="json"): CT's preset
or explicit args plus LLM Compressor's observer defaults. "format" is CT's infer_module_format for a
torch.nn.Linear.
"""

import json
import logging
import sys
import warnings

import torch
from compressed_tensors.compressors.format import infer_module_format
from llmcompressor.modifiers.quantization import QuantizationModifier

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
try:
    from loguru import logger

    logger.remove()
except ImportError:
    pass


def resolve(**kwargs) -> dict:
    config = QuantizationModifier(**kwargs).resolved_config
    scheme = config.config_groups["group_0"]
    return {"scheme": scheme.model_dump(mode="json"), "format": infer_module_format(torch.nn.Linear, scheme).value}


def resolve_kv(args: dict) -> dict:
    config = QuantizationModifier(kv_cache_scheme=args).resolved_config
    return {"args": config.kv_cache_scheme.model_dump(mode="json")}


def guarded(function):
    try:
        return function()
    except Exception as error:  # pydantic ValidationError, ValueError, NotImplementedError
        return {"error": f"{type(error).__name__}: {error}"}


def main() -> None:
    with open(sys.argv[1]) as file:
        request = json.load(file)
    response = {
        "presets": {name: resolve(scheme=name, targets=["Linear"]) for name in request["presets"]},
        "groups": [guarded(lambda: resolve(config_groups={"group_0": group})) for group in request["groups"]],
        "kv_cache_schemes": [guarded(lambda: resolve_kv(args)) for args in request["kv_cache_schemes"]],
    }
    with open(sys.argv[2], "w") as file:
        json.dump(response, file, indent=1)


if __name__ == "__main__":
    main()
