// core/recipe/presets.h - the preset quantization schemes of compressed-tensors (quant_scheme.py), as a
// table: `scheme = "W4A16"` in a recipe names a row.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "recipe/quant_args.h"

namespace llmc::recipe {

struct PresetScheme {
  std::string_view name;
  std::optional<QuantArgs> weights;            // finalized, observer not yet defaulted
  std::optional<QuantArgs> input_activations;  // idem
};

/// The preset called `name`, compared case-insensitively (CT upper-cases the name); nullopt if none.
std::optional<PresetScheme> find_preset(std::string_view name);

/// Every preset name, in table order.
std::vector<std::string_view> preset_names();

}  // namespace llmc::recipe
