// plugins/gptq/weight_scheme.h - what GPTQ reads of a module's compressed-tensors QuantizationScheme
// (llmc_module_info.scheme_json), and the activation order it runs with: GPTQModifier's actorder
// resolution (digest section 4.4 step 1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmc::gptq {

enum class WeightStrategy { tensor, channel, group, tensor_group, block };
enum class ActOrder { none, weight };

std::string_view to_string(WeightStrategy strategy);
std::string_view to_string(ActOrder order);

struct WeightScheme {
  WeightStrategy strategy = WeightStrategy::tensor;
  std::optional<ActOrder> actorder;  // the scheme's weights.actorder, when it sets one
};

/// The weights part of a QuantizationScheme JSON; nullopt when the scheme quantizes no weight. Throws
/// std::invalid_argument for malformed JSON or a weight strategy GPTQ does not run (token, attn_head).
std::optional<WeightScheme> parse_weight_scheme(std::string_view scheme_json);

/// Why "group" (alias "dynamic") is refused, in the recipe key and in a scheme's weights.actorder.
extern const char* const kGroupActorderRemoved;

/// The order GPTQ takes the columns in, from the recipe key `actorder` ("static", the default, means the
/// scheme's weights.actorder, else "weight"; "weight" and "none" are explicit) and the scheme. An explicit
/// value that differs from the scheme's throws std::invalid_argument, as the reference raises; so does an
/// unknown value, and "group" (kGroupActorderRemoved).
ActOrder resolve_actorder(std::string_view option, const WeightScheme& scheme);

}  // namespace llmc::gptq
