// core/recipe/quant_args.h - compressed-tensors QuantizationArgs: read from a recipe table, validated and
// completed by CT's rules (compressed-tensors.md section 1), written as CT's JSON dump.
#pragma once

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "recipe/toml_reader.h"
#include "util/expected.h"

namespace llmc::recipe {

enum class QuantType { int_, float_ };
enum class Strategy { tensor, channel, group, block, token, tensor_group, attn_head };
/// CT's `dynamic`: false, true, or "local" (local scales at runtime, the global scale stored).
enum class Dynamic { off, on, local };
/// Which tensor of a module the args quantize; selects the observer default.
enum class ArgsRole { weights, input_activations, output_activations, kv_cache };

std::string_view to_string(QuantType type);
std::string_view to_string(Strategy strategy);

struct QuantArgs {
  int64_t num_bits = 8;
  QuantType type = QuantType::int_;
  bool symmetric = true;
  std::optional<int64_t> group_size;
  std::optional<Strategy> strategy;  // inferred by finalize_quant_args when absent
  std::optional<std::array<int64_t, 2>> block_structure;  // [rows, cols]
  Dynamic dynamic = Dynamic::off;
  std::optional<std::string> actorder;     // "weight" or its alias "static", kept as written (CT does)
  std::optional<std::string> scale_dtype;  // canonical, e.g. "torch.float8_e4m3fn"
  std::optional<std::string> zp_dtype;     // canonical; inferred by finalize_quant_args when absent
  std::optional<std::string> observer;
  nlohmann::json observer_kwargs = nlohmann::json::object();
};

/// Reads a QuantizationArgs table written with CT's field names (`name` is the recipe key, e.g.
/// "weights"), then applies finalize_quant_args. Unknown keys and wrong types are errors.
Expected<QuantArgs> parse_quant_args(const TomlReader& reader, std::string_view name, const toml::table& table);

/// CT's model validator, in CT's order: strategy inference, token needs dynamic, group sizes,
/// block_structure, dynamic strategies, zp_dtype default. The error message carries no location.
Status finalize_quant_args(QuantArgs& args);

/// LLM Compressor's observer default for args without an explicit observer
/// (QuantizationMixin._apply_observer_overrides): none when dynamic=true, else "memoryless_minmax" for
/// weights and "minmax" for activations. The kv-cache args keep theirs (the mixin leaves them alone).
void apply_default_observer(QuantArgs& args, ArgsRole role);

/// CT's model_dump: every field, `zp_dtype` null when symmetric.
nlohmann::json to_json(const QuantArgs& args);

/// The inverse of to_json: a QuantizationArgs object as CT dumps or reads it (absent keys take CT's
/// defaults, the same spellings parse_quant_args accepts), then finalize_quant_args. Unknown keys and
/// wrong types are errors.
Expected<QuantArgs> quant_args_from_json(const nlohmann::json& json);

}  // namespace llmc::recipe
