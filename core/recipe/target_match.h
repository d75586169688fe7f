// core/recipe/target_match.h - which modules a modifier claims, and which of its groups each gets, with
// compressed-tensors' target semantics (compressed_tensors.utils.match).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recipe/recipe.h"
#include "util/expected.h"

namespace llmc::recipe {

/// One module of the model, in named_modules() order.
struct ModuleRef {
  std::string_view name;                    // full module name, e.g. "model.layers.0.mlp.down_proj"
  std::span<const std::string> class_names; // its class and base classes (the MRO), e.g. {"Linear", "Module"}
};

struct Match {
  size_t module_index;  // into the modules given to resolve_targets
  int group_index;      // into Modifier::groups, or -1 when the modifier sets no quantization scheme
};

struct TargetResolution {
  std::vector<Match> matches;         // in module order
  std::vector<std::string> warnings;  // "file:line:column: modifier N (plugin): ..."
};

/// A target matches a module when it is "re:<python regex>" and re.match()es the module name (anchored at
/// the start only), or equals the module name, or equals one of its class names ("Linear" also matches
/// vLLM's "LinearBase"). A module matching `ignore` (same rules) is never claimed.
///
/// With several groups a module gets the group of its highest-priority matching target: exact name,
/// then regex, then class name; within one kind the alphabetically first target string wins. That is
/// compressed-tensors' own rule (match_targets), which it applies again when it loads the checkpoint.
/// vLLM instead takes the first matching name target (exact or regex) in config order, then the first
/// class target, so a module that two groups claim by name, or by class only, gets a warning: make such
/// targets disjoint. (A target string in two groups is already a parse error.)
///
/// A target that matches no module is a warning, as in compressed-tensors (which warns and goes on).
Expected<TargetResolution> resolve_targets(const Modifier& modifier, std::span<const ModuleRef> modules);

}  // namespace llmc::recipe
