// core/recipe/recipe_parser.cpp - TOML recipe -> Recipe: the host-owned keys, the quantization schemes,
// and the plugin-specific rest.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "recipe/presets.h"
#include "recipe/python_regex.h"
#include "recipe/quant_args.h"
#include "recipe/quant_scheme.h"
#include "recipe/recipe.h"
#include "recipe/toml_reader.h"
#include "util/read_file.h"

namespace llmc::recipe {
namespace {

constexpr std::array<std::string_view, 2> kTopLevelKeys{"calibration", "modifier"};
constexpr std::array<std::string_view, 6> kCalibrationKeys{"dataset", "samples", "max_seq_length", "seed", "shuffle",
                                                          "concatenate"};
constexpr std::array<std::string_view, 9> kHostKeys{
    "plugin", "targets", "ignore", "scheme", "weights", "input_activations", "output_activations",
    "kv_cache_scheme", "group"};
constexpr std::array<std::string_view, 5> kGroupKeys{
    "targets", "scheme", "weights", "input_activations", "output_activations"};
constexpr std::array<std::string_view, 3> kArgsKeys{"weights", "input_activations", "output_activations"};

const toml::key* find_key(const toml::table& table, std::string_view name) {
  const auto it = table.find(name);
  return it == table.end() ? nullptr : &it->first;
}

bool before(const SourceLocation& a, const SourceLocation& b) {
  return std::pair(a.line, a.column) < std::pair(b.line, b.column);
}

Expected<Calibration> parse_calibration(const TomlReader& reader, const toml::node& node) {
  auto table = reader.table("calibration", node);
  LLMC_TRY(table);
  LLMC_TRY(reader.check_keys(**table, kCalibrationKeys, "[calibration]"));
  Calibration calibration;
  for (const auto& [key, value] : **table) {
    if (key == "dataset") {
      auto dataset = reader.string("dataset", value);
      LLMC_TRY(dataset);
      if (dataset->empty()) return reader.error(reader.at(value), "key 'dataset' must not be empty");
      calibration.dataset = *dataset;
      continue;
    }
    if (key == "shuffle" || key == "concatenate") {
      auto flag = reader.boolean(key.str(), value);
      LLMC_TRY(flag);
      (key == "shuffle" ? calibration.shuffle : calibration.concatenate) = *flag;
      continue;
    }
    auto number = reader.integer(key.str(), value);
    LLMC_TRY(number);
    const bool is_seed = key == "seed";
    if (is_seed ? *number < 0 : *number <= 0) {
      return reader.error(reader.at(value), fmt::format("key '{}' must be {}, got {}", key.str(),
                                                        is_seed ? "non-negative" : "positive", *number));
    }
    (key == "samples" ? calibration.samples : key == "max_seq_length" ? calibration.max_seq_length
                                                                       : calibration.seed) = *number;
  }
  return calibration;
}

// `targets` or `ignore`: a string or an array of strings, each a module name, class name or "re:" regex.
Expected<std::vector<std::string>> read_targets(const TomlReader& reader, std::string_view name,
                                                const toml::node& node, bool allow_empty) {
  auto targets = reader.string_list(name, node);
  LLMC_TRY(targets);
  if (targets->empty() && !allow_empty) {
    return reader.error(reader.at(node), fmt::format("key '{}' must not be empty", name));
  }
  const toml::array* array = node.as_array();
  for (size_t i = 0; i < targets->size(); ++i) {
    const std::string& target = (*targets)[i];
    const toml::node& element = array != nullptr ? *array->get(i) : node;
    if (target.empty()) return reader.error(reader.at(element), fmt::format("key '{}' holds an empty string", name));
    if (!target.starts_with("re:")) continue;
    auto regex = compile_python_regex(std::string_view(target).substr(3));
    if (!regex) {
      return reader.error(reader.at(element),
                          fmt::format("key '{}': target '{}': {}", name, target, regex.error().message));
    }
  }
  return targets;
}

struct ParsedScheme {
  SchemeArgs args;
  SourceLocation location;
};

// The quantization keys of a modifier or group table: a preset `scheme`, or explicit args. LLM Compressor
// takes a preset whole (its `scheme` and `config_groups` exclude each other), so both at once is an error.
Expected<std::optional<ParsedScheme>> read_scheme(const TomlReader& reader, const toml::table& table) {
  const toml::key* scheme_key = find_key(table, "scheme");
  std::vector<const toml::key*> args_keys;
  for (std::string_view name : kArgsKeys) {
    if (const toml::key* key = find_key(table, name)) args_keys.push_back(key);
  }
  if (scheme_key == nullptr && args_keys.empty()) return std::optional<ParsedScheme>();
  if (scheme_key != nullptr && !args_keys.empty()) {
    return reader.error(reader.at(*args_keys.front()),
                        fmt::format("key '{}' cannot be combined with 'scheme': a preset is taken whole (as in LLM "
                                    "Compressor); write all of the args explicitly instead",
                                    args_keys.front()->str()));
  }
  ParsedScheme parsed;
  if (scheme_key != nullptr) {
    const toml::node& node = *table.get("scheme");
    auto name = reader.string("scheme", node);
    LLMC_TRY(name);
    const auto preset = find_preset(*name);
    if (!preset) {
      const auto names = preset_names();
      return reader.error(reader.at(node), fmt::format("unknown scheme '{}'; valid schemes: {}", *name, join(names)));
    }
    parsed.args.weights = preset->weights;
    parsed.args.input_activations = preset->input_activations;
    parsed.location = reader.at(*scheme_key);
  } else {
    parsed.location = reader.at(*args_keys.front());
    for (const toml::key* key : args_keys) {
      if (before(reader.at(*key), parsed.location)) parsed.location = reader.at(*key);
      auto args_table = reader.table(key->str(), *table.get(key->str()));
      LLMC_TRY(args_table);
      auto args = parse_quant_args(reader, key->str(), **args_table);
      LLMC_TRY(args);
      (*key == "weights" ? parsed.args.weights
       : *key == "input_activations" ? parsed.args.input_activations
                                     : parsed.args.output_activations) = std::move(*args);
    }
  }
  SchemeArgs& args = parsed.args;
  if (args.weights) apply_default_observer(*args.weights, ArgsRole::weights);
  if (args.input_activations) apply_default_observer(*args.input_activations, ArgsRole::input_activations);
  if (args.output_activations) apply_default_observer(*args.output_activations, ArgsRole::output_activations);
  if (auto status = validate_scheme(parsed.args); !status) return reader.error(parsed.location, status.error().message);
  return std::optional<ParsedScheme>(std::move(parsed));
}

Expected<QuantizationGroup> parse_group(const TomlReader& reader, const toml::table& table) {
  LLMC_TRY(reader.check_keys(table, kGroupKeys, "[[modifier.group]]"));
  const SourceLocation location = reader.at(table);
  const toml::node* targets_node = table.get("targets");
  if (targets_node == nullptr) return reader.error(location, "missing required key 'targets'");
  auto targets = read_targets(reader, "targets", *targets_node, false);
  LLMC_TRY(targets);
  auto scheme = read_scheme(reader, table);
  LLMC_TRY(scheme);
  if (!*scheme) {
    return reader.error(location, "the group sets no quantization: give it a 'scheme' or 'weights', "
                                  "'input_activations', 'output_activations'");
  }
  return QuantizationGroup{*targets, scheme_to_json((*scheme)->args, *targets), location};
}

Status parse_groups(const TomlReader& reader, const toml::node& node, Modifier& modifier) {
  const toml::array* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return reader.type_error("group", node, "an array of tables ([[modifier.group]])");
  }
  std::map<std::string, size_t, std::less<>> owner;  // target -> group index
  for (size_t g = 0; g < array->size(); ++g) {
    const TomlReader group_reader = reader.with_context(fmt::format("{}, group {}", modifier.label(), g + 1));
    auto group = parse_group(group_reader, *array->get(g)->as_table());
    LLMC_TRY(group);
    for (const std::string& target : group->targets) {
      const auto [it, added] = owner.emplace(target, g);
      if (added || it->second == g) continue;
      // compressed-tensors and vLLM key the groups by target string: the later group would silently win.
      return group_reader.error(group_reader.at(*array->get(g)->as_table()->get("targets")),
                                fmt::format("target '{}' is also a target of group {}; a target string may "
                                            "appear in one group only", target, it->second + 1));
    }
    for (const std::string& target : group->targets) {
      if (std::find(modifier.targets.begin(), modifier.targets.end(), target) == modifier.targets.end()) {
        modifier.targets.push_back(target);
      }
    }
    modifier.groups.push_back(std::move(*group));
  }
  return Status::ok();
}

bool is_plugin_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Expected<Modifier> parse_modifier(const TomlReader& file_reader, size_t index, toml::node& node) {
  TomlReader reader = file_reader.with_context(fmt::format("modifier {}", index + 1));
  toml::table* table = node.as_table();
  if (table == nullptr) return reader.type_error("modifier", node, "a table ([[modifier]])");
  Modifier modifier;
  modifier.index = index;
  modifier.location = reader.at(*table);

  const toml::node* plugin = table->get("plugin");
  if (plugin == nullptr) return reader.error(modifier.location, "missing required key 'plugin'");
  auto plugin_name = reader.string("plugin", *plugin);
  LLMC_TRY(plugin_name);
  if (!is_plugin_name(*plugin_name)) {
    return reader.error(reader.at(*plugin),
                        fmt::format("key 'plugin' must be a plugin name of [a-z0-9_]+, got \"{}\"", *plugin_name));
  }
  modifier.plugin = *plugin_name;
  reader = file_reader.with_context(modifier.label());

  const toml::node* targets = table->get("targets");
  const toml::node* groups = table->get("group");
  if (targets != nullptr && groups != nullptr) {
    return reader.error(reader.at(*find_key(*table, "targets")),
                        "key 'targets' cannot be combined with [[modifier.group]]: each group names its own targets");
  }
  if (targets != nullptr) {
    auto list = read_targets(reader, "targets", *targets, false);
    LLMC_TRY(list);
    modifier.targets = std::move(*list);
  } else if (groups == nullptr) {
    modifier.targets = {"Linear"};
  }
  if (const toml::node* ignore = table->get("ignore")) {
    auto list = read_targets(reader, "ignore", *ignore, true);
    LLMC_TRY(list);
    modifier.ignore = std::move(*list);
  }

  auto scheme = read_scheme(reader, *table);
  LLMC_TRY(scheme);
  if (*scheme && groups != nullptr) {
    const toml::array* array = groups->as_array();
    const toml::node& first = array != nullptr && !array->empty() ? *array->get(0) : *groups;
    return reader.error(reader.at(first),
                        "[[modifier.group]] cannot be combined with the modifier's own 'scheme', 'weights', "
                        "'input_activations' or 'output_activations'");
  }
  if (*scheme) {
    modifier.groups.push_back(
        QuantizationGroup{modifier.targets, scheme_to_json((*scheme)->args, modifier.targets), (*scheme)->location});
  }
  if (groups != nullptr) LLMC_TRY(parse_groups(reader, *groups, modifier));

  if (const toml::node* kv_node = table->get("kv_cache_scheme")) {
    auto kv_table = reader.table("kv_cache_scheme", *kv_node);
    LLMC_TRY(kv_table);
    auto args = parse_quant_args(reader, "kv_cache_scheme", **kv_table);
    LLMC_TRY(args);
    modifier.kv_cache_scheme = KvCacheScheme{to_json(*args), reader.at(*find_key(*table, "kv_cache_scheme"))};
  }

  // Moved, not copied: a toml++ copy drops the source positions that option errors point at.
  auto plugin_keys = std::make_shared<toml::table>();
  for (auto&& [key, value] : *table) {
    if (std::find(kHostKeys.begin(), kHostKeys.end(), key.str()) != kHostKeys.end()) continue;
    plugin_keys->insert(key, std::move(value));
  }
  modifier.plugin_keys = std::move(plugin_keys);
  return modifier;
}

}  // namespace

std::string Modifier::label() const { return fmt::format("modifier {} ({})", index + 1, plugin); }

std::span<const std::string_view> host_modifier_keys() { return kHostKeys; }

Expected<Recipe> parse_recipe_string(std::string_view text, std::string display_name) {
  toml::table root;
  try {
    root = toml::parse(text, display_name);
  } catch (const toml::parse_error& error) {
    return Error{fmt::format("{}:{}:{}: {}", display_name, error.source().begin.line, error.source().begin.column,
                             error.description())};
  }
  const TomlReader reader(display_name, "");
  LLMC_TRY(reader.check_keys(root, kTopLevelKeys, "the recipe"));

  Recipe recipe;
  recipe.file = display_name;
  recipe.text = std::string(text);
  if (const toml::node* calibration = root.get("calibration")) {
    auto parsed = parse_calibration(reader, *calibration);
    LLMC_TRY(parsed);
    recipe.calibration = std::move(*parsed);
  }
  toml::node* modifiers = root.get("modifier");
  if (modifiers == nullptr) {
    return reader.error(SourceLocation{display_name, 1, 1}, "the recipe has no [[modifier]] table");
  }
  toml::array* array = modifiers->as_array();
  if (array == nullptr) return reader.type_error("modifier", *modifiers, "an array of tables ([[modifier]])");
  for (size_t i = 0; i < array->size(); ++i) {
    auto modifier = parse_modifier(reader, i, *array->get(i));
    LLMC_TRY(modifier);
    recipe.modifiers.push_back(std::move(*modifier));
  }
  return recipe;
}

Expected<Recipe> parse_recipe_file(const std::filesystem::path& path) {
  auto text = read_file(path, "the recipe");
  LLMC_TRY(text);
  return parse_recipe_string(*text, path.string());
}

}  // namespace llmc::recipe
