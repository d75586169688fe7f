// core/pipeline/quantization_plan.h - what the host checks about a recipe's quantization before any work,
// and the quantization_config it writes after.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/module_map.h"
#include "recipe/recipe.h"
#include "util/expected.h"

namespace llmc::pipeline {

/// Why the modifier's quantization needs calibration data, with the recipe location: static input or output
/// activations, dynamic "local" activations (NVFP4's activation global scale), a KV cache scheme or an
/// imatrix_mse weight observer (LLM Compressor's requires_calibration_data rule); nullopt when it needs none.
std::optional<std::string> calibration_reason(const recipe::Modifier& modifier);

/// A module a modifier claims, with the scheme it gives it (null: none).
struct ClaimedModule {
  const model::ModuleEntry* module;
  const nlohmann::json* scheme;
};

/// Fails when a group or tensor_group weight scheme's group size does not divide a claimed module's input
/// width (the reference refuses such layers too), naming the layers and the group sizes that would fit.
Status check_group_divisibility(const recipe::Modifier& modifier, const std::vector<ClaimedModule>& claimed,
                                const model::Checkpoint& checkpoint);

/// config.json's "quantization_config" for the modules quantized (name -> its scheme) and the KV cache scheme
/// (a QuantizationArgs, or null), or null when there is neither.
Expected<nlohmann::json> build_quantization_config(const model::ModuleMap& map,
                                                   const std::map<std::string, const nlohmann::json*>& quantized,
                                                   const nlohmann::json& kv_cache_scheme = nullptr);

}  // namespace llmc::pipeline
