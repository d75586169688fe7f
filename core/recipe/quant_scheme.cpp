// core/recipe/quant_scheme.cpp - QuantizationScheme rules (compressed-tensors 0.19 quant_scheme.py) and
// format inference (compressors/format.py and each compressor's can_compress).
#include "recipe/quant_scheme.h"

#include <fmt/format.h>

namespace llmc::recipe {

Status validate_scheme(const SchemeArgs& scheme) {
  if (const auto& inputs = scheme.input_activations) {
    const Strategy strategy = *inputs->strategy;
    if (strategy == Strategy::channel || strategy == Strategy::block) {
      return Error{fmt::format("strategy '{}' is not supported for input_activations (use token, tensor, group, "
                               "tensor_group or attn_head)", to_string(strategy))};
    }
    if (inputs->actorder) return Error{"input_activations cannot carry actorder"};
  }
  if (scheme.output_activations && scheme.output_activations->actorder) {
    return Error{"output_activations cannot carry actorder"};
  }
  return Status::ok();
}

std::string_view infer_format(const SchemeArgs& scheme) {
  const auto& weights = scheme.weights;
  const auto& inputs = scheme.input_activations;
  if (!weights) return "dense";
  const bool is_float = weights->type == QuantType::float_;
  const auto group_size = weights->group_size.value_or(0);
  if (is_float && weights->num_bits == 4 && group_size == 32) return "mxfp4-pack-quantized";
  if (is_float && weights->num_bits == 8 && group_size == 32 && weights->scale_dtype == "torch.uint8") {
    return "mxfp8-quantized";
  }
  if (is_float && weights->num_bits == 4 && group_size == 16) return "nvfp4-pack-quantized";
  const bool packable = !is_float && weights->num_bits >= 1 && weights->num_bits <= 8;
  if (inputs && !is_float) {
    return packable && inputs->type == QuantType::float_ ? "pack-quantized" : "int-quantized";
  }
  if (packable) return "pack-quantized";
  if (inputs) return "float-quantized";
  return "naive-quantized";
}

nlohmann::json scheme_to_json(const SchemeArgs& scheme, const std::vector<std::string>& targets) {
  auto args = [](const std::optional<QuantArgs>& value) { return value ? to_json(*value) : nlohmann::json(nullptr); };
  nlohmann::json out;
  out["targets"] = targets;
  out["weights"] = args(scheme.weights);
  out["input_activations"] = args(scheme.input_activations);
  out["output_activations"] = args(scheme.output_activations);
  out["format"] = infer_format(scheme);
  return out;
}

}  // namespace llmc::recipe
