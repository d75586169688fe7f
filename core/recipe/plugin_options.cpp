// core/recipe/plugin_options.cpp - binding plugin-specific recipe keys to the plugin's declared specs.
#include "recipe/plugin_options.h"

#include <fmt/format.h>

#include <algorithm>

#include "recipe/toml_reader.h"

namespace llmc::recipe {
namespace {

using Value = decltype(OptionValue::value);

std::string_view expected_text(int32_t type) {
  switch (type) {
    case LLMC_OPTION_BOOL: return "a boolean";
    case LLMC_OPTION_INT: return "an integer";
    case LLMC_OPTION_FLOAT: return "a number";
    case LLMC_OPTION_STRING: return "a string";
    case LLMC_OPTION_STRING_LIST: return "an array of strings";
    case LLMC_OPTION_FLOAT_LIST: return "an array of numbers";
    default: return "";
  }
}

std::optional<double> number(const toml::node& node) {
  if (const auto* value = node.as_floating_point()) return value->get();
  if (const auto* value = node.as_integer()) return static_cast<double>(value->get());
  return std::nullopt;
}

Expected<Value> convert(const TomlReader& reader, std::string_view key, int32_t type, const toml::node& node) {
  const auto* array = node.as_array();
  auto element_error = [&](const toml::node& element) {
    return reader.error(reader.at(element), fmt::format("key '{}' must be {}, got an element of type {}", key,
                                                        expected_text(type), toml_type_name(element)));
  };
  switch (type) {
    case LLMC_OPTION_BOOL:
      if (const auto* value = node.as_boolean()) return Value{value->get()};
      break;
    case LLMC_OPTION_INT:
      if (const auto* value = node.as_integer()) return Value{value->get()};
      break;
    case LLMC_OPTION_FLOAT:
      if (auto value = number(node)) return Value{*value};
      break;
    case LLMC_OPTION_STRING:
      if (const auto* value = node.as_string()) return Value{value->get()};
      break;
    case LLMC_OPTION_STRING_LIST:
      if (array != nullptr) {
        std::vector<std::string> out;
        for (const auto& element : *array) {
          const auto* text = element.as_string();
          if (text == nullptr) return element_error(element);
          out.push_back(text->get());
        }
        return Value{std::move(out)};
      }
      break;
    case LLMC_OPTION_FLOAT_LIST:
      if (array != nullptr) {
        std::vector<double> out;
        for (const auto& element : *array) {
          auto value = number(element);
          if (!value) return element_error(element);
          out.push_back(*value);
        }
        return Value{std::move(out)};
      }
      break;
  }
  return reader.type_error(key, node, expected_text(type));
}

Error plugin_bug(std::string_view plugin, std::string_view what) {
  return Error{fmt::format("plugin '{}': {} (a bug in the plugin)", plugin, what)};
}

Status check_specs(std::string_view plugin, std::span<const llmc_option_spec> specs) {
  const auto host_keys = host_modifier_keys();
  for (size_t i = 0; i < specs.size(); ++i) {
    const llmc_option_spec& spec = specs[i];
    if (spec.key == nullptr || *spec.key == '\0') return plugin_bug(plugin, fmt::format("option {} has no key", i));
    const std::string_view key = spec.key;
    if (expected_text(spec.type).empty()) {
      return plugin_bug(plugin, fmt::format("option '{}' has the unknown type {}", key, spec.type));
    }
    if (std::find(host_keys.begin(), host_keys.end(), key) != host_keys.end()) {
      return plugin_bug(plugin, fmt::format("option '{}' redeclares a key the host owns", key));
    }
    for (size_t j = 0; j < i; ++j) {
      if (key == specs[j].key) return plugin_bug(plugin, fmt::format("option '{}' is declared twice", key));
    }
  }
  return Status::ok();
}

Expected<Value> parse_default(std::string_view plugin, const llmc_option_spec& spec) {
  const std::string document = fmt::format("value = {}", spec.default_value);
  auto invalid = [&](std::string_view why) {
    return plugin_bug(plugin, fmt::format("the default of option '{}' ({}) {}", spec.key, spec.default_value, why));
  };
  toml::table table;
  try {
    table = toml::parse(document);
  } catch (const toml::parse_error& error) {
    return invalid(fmt::format("is not a TOML value: {}", error.description()));
  }
  const toml::node* node = table.get("value");
  if (table.size() != 1 || node == nullptr) return invalid("is not one TOML value");
  auto value = convert(TomlReader("<default>", ""), spec.key, spec.type, *node);
  if (!value) return invalid(fmt::format("is not {}", expected_text(spec.type)));
  return value;
}

}  // namespace

Expected<OptionValues> bind_plugin_options(const Modifier& modifier, const llmc_option_spec* specs, size_t count) {
  const std::span<const llmc_option_spec> declared(specs, specs == nullptr ? 0 : count);
  LLMC_TRY(check_specs(modifier.plugin, declared));
  const TomlReader reader(modifier.location.file, modifier.label());

  OptionValues values;
  for (const auto& [key, node] : *modifier.plugin_keys) {
    const auto spec = std::find_if(declared.begin(), declared.end(),
                                   [&](const llmc_option_spec& s) { return key.str() == s.key; });
    if (spec == declared.end()) {
      std::vector<std::string_view> plugin_keys;
      for (const llmc_option_spec& s : declared) plugin_keys.push_back(s.key);
      const std::string accepted = plugin_keys.empty() ? std::string("no keys of its own")
                                                       : fmt::format("the keys {}", join(plugin_keys));
      return reader.error(reader.at(key), fmt::format("unknown key '{}': plugin '{}' accepts {}; host keys: {}",
                                                      key.str(), modifier.plugin, accepted,
                                                      join(host_modifier_keys())));
    }
    auto value = convert(reader, key.str(), spec->type, node);
    LLMC_TRY(value);
    values.emplace(std::string(key.str()), OptionValue{std::move(*value), reader.at(node)});
  }
  for (const llmc_option_spec& spec : declared) {
    if (values.contains(std::string_view(spec.key))) continue;
    if (spec.default_value == nullptr) {
      std::string what = fmt::format("missing required key '{}' ({})", spec.key, expected_text(spec.type));
      if (spec.description != nullptr && *spec.description != '\0') what += fmt::format(": {}", spec.description);
      return reader.error(modifier.location, what);
    }
    auto value = parse_default(modifier.plugin, spec);
    LLMC_TRY(value);
    values.emplace(spec.key, OptionValue{std::move(*value), modifier.location});
  }
  return values;
}

Status check_quantization_allowed(const Modifier& modifier, bool plugin_quantizes, std::string_view plugin_name) {
  if (plugin_quantizes || !modifier.sets_quantization()) return Status::ok();
  const SourceLocation& where =
      modifier.groups.empty() ? modifier.kv_cache_scheme->location : modifier.groups.front().location;
  return TomlReader(where.file, modifier.label())
      .error(where, fmt::format("plugin '{}' does not quantize, so it accepts none of scheme, weights, "
                                "input_activations, output_activations, kv_cache_scheme and [[modifier.group]]",
                                plugin_name));
}

}  // namespace llmc::recipe
