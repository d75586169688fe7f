// core/pipeline/weight_quantization.cpp
#include "pipeline/weight_quantization.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "quant/quantize.h"

namespace llmc::pipeline {
namespace {

// llmcompressor/observers/helpers.py FUSED_LAYER_NAMES.
constexpr std::array<std::array<std::string_view, 3>, 4> kFusedLayerNames = {{
    {"gate_proj", "up_proj", ""},
    {"q_proj", "k_proj", "v_proj"},
    {"q_a_proj", "kv_a_proj_with_mqa", ""},
    {"w1", "w3", ""},
}};

Expected<std::optional<recipe::QuantArgs>> parse_args(const nlohmann::json& scheme, const char* key) {
  const auto it = scheme.find(key);
  if (it == scheme.end() || it->is_null()) return std::optional<recipe::QuantArgs>();
  auto args = recipe::quant_args_from_json(*it);
  if (!args) return Error{fmt::format("scheme {}: {}", key, args.error().message)};
  return std::optional<recipe::QuantArgs>(std::move(*args));
}

// What the checkpoint stores of calibrated activation qparams: the scale (and an asymmetric zero point) as a
// parameter of the weight's dtype, as the reference copies them; "local" activations store the global scale only.
format::QParams activation_qparams(const std::optional<quant::QParams>& observed, const std::optional<recipe::QuantArgs>& args,
                                   at::ScalarType dtype) {
  format::QParams stored;
  if (!observed || !args) return stored;
  if (observed->global_scale) stored.global_scale = *observed->global_scale;
  if (args->dynamic == recipe::Dynamic::local) return stored;
  stored.scale = observed->scale.to(dtype);
  if (!args->symmetric && observed->zero_point) stored.zero_point = *observed->zero_point;
  return stored;
}

}  // namespace

Expected<RecordedQuantization> parse_scheme(const nlohmann::json& scheme) {
  RecordedQuantization recorded;
  auto weights = parse_args(scheme, "weights");
  if (!weights) return weights.error();
  auto input = parse_args(scheme, "input_activations");
  if (!input) return input.error();
  auto output = parse_args(scheme, "output_activations");
  if (!output) return output.error();
  recorded.scheme = {std::move(*weights), std::move(*input), std::move(*output)};
  const auto format_name = scheme.value("format", nlohmann::json()).is_string()
                               ? scheme["format"].get<std::string>()
                               : std::string(recipe::infer_format(recorded.scheme));
  auto format = format::parse_format(format_name);
  if (!format) return format.error();
  recorded.format = *format;
  return recorded;
}

std::vector<std::string> fusion_group(std::string_view module, std::span<const std::string> unit_modules) {
  const auto dot = module.rfind('.');
  const std::string_view parent = dot == std::string_view::npos ? std::string_view() : module.substr(0, dot);
  const std::string_view leaf = dot == std::string_view::npos ? module : module.substr(dot + 1);
  for (const auto& group : kFusedLayerNames) {
    if (std::find(group.begin(), group.end(), leaf) == group.end()) continue;
    std::vector<std::string> members;
    for (std::string_view sibling : group) {
      if (sibling.empty()) continue;
      std::string name = parent.empty() ? std::string(sibling) : fmt::format("{}.{}", parent, sibling);
      if (std::find(unit_modules.begin(), unit_modules.end(), name) == unit_modules.end()) return {std::string(module)};
      members.push_back(std::move(name));
    }
    return members;
  }
  return {std::string(module)};
}

Expected<std::vector<format::NamedTensor>> quantized_tensors(const std::string& name, const at::Tensor& weight,
                                                             const RecordedQuantization& recorded) {
  const recipe::QuantArgs& args = *recorded.scheme.weights;
  auto values = quant::quantize(weight, recorded.weight_qparams, args);
  if (!values) return Error{fmt::format("{}: {}", name, values.error().message)};
  format::QuantizedModule module;
  module.name = name;
  module.format = recorded.format;
  module.scheme = recorded.scheme;
  module.dtype = weight.scalar_type();
  module.weight = std::move(*values);
  module.weight_qparams.scale = recorded.weight_qparams.scale;
  if (!args.symmetric && recorded.weight_qparams.zero_point) module.weight_qparams.zero_point = *recorded.weight_qparams.zero_point;
  if (recorded.weight_qparams.global_scale) module.weight_qparams.global_scale = *recorded.weight_qparams.global_scale;
  module.input_qparams = activation_qparams(recorded.input_qparams, recorded.scheme.input_activations, weight.scalar_type());
  module.output_qparams =
      activation_qparams(recorded.output_qparams, recorded.scheme.output_activations, weight.scalar_type());
  return format::compress_module(module);
}

}  // namespace llmc::pipeline
