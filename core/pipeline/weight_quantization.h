// core/pipeline/weight_quantization.h - the quantization a modifier recorded for a module of the unit
// (llmc_host_api.quant_weight), and the module's tensors in its compressed-tensors format on write.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/format.h"
#include "format/quantized_module.h"
#include "quant/qparams.h"
#include "recipe/quant_scheme.h"
#include "util/expected.h"

namespace llmc::pipeline {

struct RecordedQuantization {
  const nlohmann::json* scheme_json = nullptr;  // the resolved scheme it came from (for quantization_config)
  recipe::SchemeArgs scheme;
  format::Format format;
  quant::QParams weight_qparams;
  std::optional<quant::QParams> input_qparams;   // calibrated: static input scale, or a "local" global scale
  std::optional<quant::QParams> output_qparams;
};

/// The args of a resolved QuantizationScheme JSON (recipe::QuantizationGroup::scheme) and its format.
Expected<RecordedQuantization> parse_scheme(const nlohmann::json& scheme);

/// The modules whose global scale `module` shares under tensor_group quantization, itself included, in
/// LLM Compressor's fusion groups (gate/up, q/k/v, q_a/kv_a_proj_with_mqa, w1/w3): siblings under one
/// parent, all present among `unit_modules`. Just `module` when it belongs to no complete group.
std::vector<std::string> fusion_group(std::string_view module, std::span<const std::string> unit_modules);

/// The tensors that replace `name`.weight: `weight` quantized with the recorded qparams and packed as
/// the format lays it out (weight_packed, weight_scale, ...).
Expected<std::vector<format::NamedTensor>> quantized_tensors(const std::string& name, const at::Tensor& weight,
                                                             const RecordedQuantization& recorded);

}  // namespace llmc::pipeline
