// sdk/include/llmc/pruning.hpp - what pruning plugins share (header-only, on top of plugin.hpp): the N:M
// mask structure and its `mask_structure` key, sparsity values and per-layer sparsity lists as LLM
// Compressor's pruning modifiers take them, and percentages for their logs.
#pragma once

#include <llmc/plugin.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::sdk::pruning {

/// N:M pruning: `prune` of every `group` consecutive input columns of a row; {0, 0} is unstructured.
struct MaskStructure {
  std::int64_t prune = 0;
  std::int64_t group = 0;
  bool unstructured() const noexcept { return prune == 0; }
};

/// "12.50%" of `part` in `whole` (0% of nothing).
inline std::string percent(std::int64_t part, std::int64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%",
                whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

/// `value` of recipe key `key`, which must be a fraction in [0, 1).
inline double checked_sparsity(const Context& ctx, std::string_view key, double value) {
  if (!(value >= 0.0 && value < 1.0)) {
    char text[64];
    std::snprintf(text, sizeof text, "must be in [0, 1), got %g", value);
    ctx.option_error(key, text);
  }
  return value;
}

/// The string key `key`: "0:0" (unstructured) or "N:M" with 0 < N < M.
inline MaskStructure read_mask_structure(const Context& ctx, std::string_view key = "mask_structure") {
  const std::string text = ctx.option<std::string>(key);
  MaskStructure mask;
  const char* const end = text.data() + text.size();
  const auto [colon, prune_error] = std::from_chars(text.data(), end, mask.prune);
  bool parsed = prune_error == std::errc() && colon != end && *colon == ':';
  if (parsed) {
    const auto [last, group_error] = std::from_chars(colon + 1, end, mask.group);
    parsed = group_error == std::errc() && last == end;
  }
  const bool unstructured = parsed && mask.prune == 0 && mask.group == 0;
  if (!unstructured && !(parsed && mask.prune > 0 && mask.prune < mask.group)) {
    ctx.option_error(key, "expected \"0:0\" (unstructured) or \"N:M\" with 0 < N < M (N of every M pruned, "
                          "e.g. \"2:4\"), got \"" + text + "\"");
  }
  return mask;
}

/// The float-list key `key` (one sparsity per decoder layer; [] = none), every value checked.
inline std::vector<double> read_layer_sparsity(const Context& ctx, std::string_view key = "sparsity_per_layer") {
  std::vector<double> values = ctx.option<std::vector<double>>(key);
  for (const double value : values) checked_sparsity(ctx, key, value);
  return values;
}

/// At initialize, for each target: a per-layer list must cover the module's decoder layer; pruning lm_head is
/// allowed (as in the reference) but warned about.
inline void check_pruned_module(const Context& ctx, const std::vector<double>& layer_sparsity, const Module& module,
                                std::string_view key = "sparsity_per_layer") {
  const std::int32_t layer = module.layer_index();
  if (!layer_sparsity.empty() && layer >= 0 && static_cast<std::size_t>(layer) >= layer_sparsity.size()) {
    ctx.option_error(key, "has " + std::to_string(layer_sparsity.size()) + " values, but " +
                              std::string(module.name()) + " is in decoder layer " + std::to_string(layer) +
                              ": give one value per decoder layer");
  }
  if (module.name().ends_with("lm_head")) {
    ctx.log_warning(std::string(module.name()) + " is pruned too; add it to `ignore` if that is unintended");
  }
}

/// The sparsity of a module in decoder layer `layer` (-1: outside the layers).
inline double layer_sparsity_or(const std::vector<double>& layer_sparsity, std::int32_t layer, double sparsity) {
  return layer >= 0 && static_cast<std::size_t>(layer) < layer_sparsity.size() ? layer_sparsity[layer] : sparsity;
}

}  // namespace llmc::sdk::pruning
