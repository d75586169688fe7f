// core/recipe/quant_scheme.h - a compressed-tensors QuantizationScheme: its validation rules, its
// checkpoint format, and its JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::recipe {

struct SchemeArgs {
  std::optional<QuantArgs> weights;
  std::optional<QuantArgs> input_activations;
  std::optional<QuantArgs> output_activations;
};

/// CT's QuantizationScheme validator: input activations use strategy token, tensor, group, tensor_group
/// or attn_head, and activations carry no actorder. The message carries no location.
Status validate_scheme(const SchemeArgs& scheme);

/// The compressed-tensors format of a Linear quantized with `scheme` (compressed-tensors.md 4.0, CT's
/// COMPRESSION_FORMAT_PRIORITY), except int weights with float inputs (W4AFP8): CT infers
/// "int-quantized", but vLLM's W4A8-FP8 kernel reads packed int4, so this gives "pack-quantized".
std::string_view infer_format(const SchemeArgs& scheme);

/// The scheme as CT dumps a QuantizationScheme: targets, weights, input_activations, output_activations
/// (null when absent), and format (infer_format; CT leaves it null until it compresses).
nlohmann::json scheme_to_json(const SchemeArgs& scheme, const std::vector<std::string>& targets);

}  // namespace llmc::recipe
