// core/recipe/target_match.cpp - target/ignore resolution (compressed_tensors.utils.match:
// match_named_modules, match_targets, is_match; quantization.lifecycle.apply for the group choice).
#include "recipe/target_match.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <tuple>

#include "recipe/python_regex.h"

namespace llmc::recipe {
namespace {

struct Target {
  std::string_view text;
  int group = -1;
  SourceLocation location;  // for messages: its group's, or the modifier's
  std::optional<std::regex> regex;
  bool matched = false;
};

Expected<Target> compile(const Modifier& modifier, std::string_view text, int group, const SourceLocation& where) {
  Target target{text, group, where, std::nullopt};
  if (!text.starts_with("re:")) return target;
  auto regex = compile_python_regex(text.substr(3));
  if (!regex) {
    return Error{fmt::format("{}: {}: target '{}': {}", where.str(), modifier.label(), text, regex.error().message)};
  }
  target.regex = std::move(*regex);
  return target;
}

bool has_class(const ModuleRef& module, std::string_view name) {
  return std::any_of(module.class_names.begin(), module.class_names.end(), [&](const std::string& class_name) {
    return class_name == name || (name == "Linear" && class_name == "LinearBase");
  });
}

bool name_matches(const Target& target, const ModuleRef& module) {
  return target.regex ? python_re_match(*target.regex, module.name) : target.text == module.name;
}

// CT's match_targets order: name matches before class matches; within each, targets sorted by
// ("re:" in target, target), which puts exact names before regexes.
using Priority = std::tuple<bool, bool, std::string_view>;

struct Ambiguity {
  size_t count = 0;
  std::string_view first_module;
  int chosen_group = 0;
  std::string_view chosen_target;
};

}  // namespace

Expected<TargetResolution> resolve_targets(const Modifier& modifier, std::span<const ModuleRef> modules) {
  std::vector<Target> targets;
  if (modifier.groups.empty()) {
    for (const std::string& text : modifier.targets) {
      auto target = compile(modifier, text, -1, modifier.location);
      LLMC_TRY(target);
      targets.push_back(std::move(*target));
    }
  } else {
    for (size_t g = 0; g < modifier.groups.size(); ++g) {
      const QuantizationGroup& group = modifier.groups[g];
      for (const std::string& text : group.targets) {
        auto target = compile(modifier, text, static_cast<int>(g), group.location);
        LLMC_TRY(target);
        targets.push_back(std::move(*target));
      }
    }
  }
  std::vector<Target> ignores;
  for (const std::string& text : modifier.ignore) {
    auto target = compile(modifier, text, -1, modifier.location);
    LLMC_TRY(target);
    ignores.push_back(std::move(*target));
  }

  TargetResolution resolution;
  std::map<std::pair<int, int>, Ambiguity> ambiguities;
  for (size_t m = 0; m < modules.size(); ++m) {
    const ModuleRef& module = modules[m];
    std::optional<Priority> best;
    const Target* chosen = nullptr;
    std::vector<int> name_groups, class_groups;
    for (Target& target : targets) {
      const bool by_name = name_matches(target, module);
      if (!by_name && (target.regex || !has_class(module, target.text))) continue;
      target.matched = true;
      (by_name ? name_groups : class_groups).push_back(target.group);
      const Priority priority{!by_name, target.text.find("re:") != std::string_view::npos, target.text};
      if (!best || priority < *best) {
        best = priority;
        chosen = &target;
      }
    }
    if (chosen == nullptr) continue;
    const bool ignored = std::any_of(ignores.begin(), ignores.end(), [&](const Target& ignore) {
      return name_matches(ignore, module) || (!ignore.regex && has_class(module, ignore.text));
    });
    if (ignored) continue;
    resolution.matches.push_back(Match{m, chosen->group});

    // vLLM picks the first name target in config order, then the first class target.
    std::vector<int>& contenders = name_groups.empty() ? class_groups : name_groups;
    std::sort(contenders.begin(), contenders.end());
    contenders.erase(std::unique(contenders.begin(), contenders.end()), contenders.end());
    if (contenders.size() >= 2) {
      Ambiguity& ambiguity = ambiguities[{contenders[0], contenders[1]}];
      if (ambiguity.count++ == 0) {
        ambiguity.first_module = module.name;
        ambiguity.chosen_group = chosen->group;
        ambiguity.chosen_target = chosen->text;
      }
    }
  }

  for (const auto& [groups, ambiguity] : ambiguities) {
    resolution.warnings.push_back(fmt::format(
        "{}: {}: {} module(s), first '{}', match targets of group {} and group {}; compressed-tensors gives them "
        "group {} (target '{}'), vLLM the group of the first matching name target in config order: make the "
        "targets disjoint",
        modifier.location.str(), modifier.label(), ambiguity.count, ambiguity.first_module, groups.first + 1,
        groups.second + 1, ambiguity.chosen_group + 1, ambiguity.chosen_target));
  }
  for (const Target& target : targets) {
    if (target.matched) continue;
    resolution.warnings.push_back(
        fmt::format("{}: {}: target '{}' matches no module", target.location.str(), modifier.label(), target.text));
  }
  if (resolution.matches.empty() && !modules.empty()) {
    resolution.warnings.push_back(
        fmt::format("{}: {}: claims no module (every match is ignored or no target matches)",
                    modifier.location.str(), modifier.label()));
  }
  return resolution;
}

}  // namespace llmc::recipe
