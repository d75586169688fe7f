// core/format/quantization_config.h - config.json's "quantization_config", as compressed-tensors 0.19
// builds it (QuantizationConfig.from_pretrained + ModelCompressor.update_config).
#pragma once

#include <nlohmann/json.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace llmc::format {

/// The compressed-tensors version the checkpoints follow (written as "version"; loaders ignore it).
inline constexpr std::string_view kCompressedTensorsVersion = "0.19.0";

/// One module of the model, in the model's module order (torch named_modules).
struct ModuleQuantization {
  std::string_view name;        // "model.layers.0.mlp.down_proj"
  std::string_view class_name;  // "Linear", "Embedding", "LlamaRMSNorm", ...
  const nlohmann::json* scheme; // its resolved QuantizationScheme (recipe::QuantizationGroup::scheme); nullptr
                                // when the module is not quantized
};

struct QuantizationConfigInputs {
  std::vector<nlohmann::json> schemes;  // the config groups, in order
  std::vector<std::string> ignore;
  nlohmann::json kv_cache_scheme;       // a QuantizationArgs, or null
  nlohmann::json transform_config = nlohmann::json::object();  // a TransformConfig dump, or {}
};

/// The module type vLLM matches (CT get_vllm_module_type): a class whose name says Router, Gating or
/// Gate (not followed by a lower-case letter), and is no ExpertMLP, counts as "Linear".
std::string_view vllm_module_type(std::string_view class_name);

/// CT's QuantizationConfig.from_pretrained over the modules: the distinct schemes in order of first use
/// (so the groups are numbered in module order, not recipe order), and the ignore list: every module not
/// quantized whose vLLM type some quantized module has (e.g. "lm_head", or every attention projection
/// when only the MLPs are quantized), in module order. Not the recipe's ignore patterns.
QuantizationConfigInputs collect_quantization(std::span<const ModuleQuantization> modules);

/// The "quantization_config" object: version, quant_method "compressed-tensors", config_groups group_0..
/// (the schemes as given, each with its own "format"), format (the one group format, "mixed-precision" for
/// several, "dense" for none), ignore, kv_cache_scheme, quantization_status "compressed",
/// global_compression_ratio null, sparsity_config {}, transform_config. Errors: a scheme without targets
/// or with a missing or unknown format.
Expected<nlohmann::json> quantization_config(const QuantizationConfigInputs& inputs);

}  // namespace llmc::format
