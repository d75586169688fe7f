// core/recipe/toml_reader.cpp - typed reads of toml++ values with located errors.
#include "recipe/toml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace llmc::recipe {

std::string_view toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

nlohmann::json toml_to_json(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : *table) out[std::string(key.str())] = toml_to_json(value);
    return out;
  }
  if (const auto* array = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& element : *array) out.push_back(toml_to_json(element));
    return out;
  }
  if (const auto* value = node.as_string()) return value->get();
  if (const auto* value = node.as_integer()) return value->get();
  if (const auto* value = node.as_floating_point()) return value->get();
  if (const auto* value = node.as_boolean()) return value->get();
  std::ostringstream text;  // dates and times
  node.visit([&](const auto& leaf) { text << leaf; });
  return text.str();
}

SourceLocation TomlReader::at(const toml::source_region& region) const {
  return SourceLocation{file_, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

Error TomlReader::error(const SourceLocation& where, std::string_view what) const {
  if (context_.empty()) return Error{fmt::format("{}: {}", where.str(), what)};
  return Error{fmt::format("{}: {}: {}", where.str(), context_, what)};
}

Error TomlReader::type_error(std::string_view name, const toml::node& value, std::string_view expected) const {
  return error(at(value), fmt::format("key '{}' must be {}, got {}", name, expected, toml_type_name(value)));
}

Status TomlReader::check_keys(const toml::table& table, std::span<const std::string_view> valid,
                              std::string_view table_name) const {
  for (const auto& [key, value] : table) {
    if (std::find(valid.begin(), valid.end(), key.str()) != valid.end()) continue;
    return error(at(key), fmt::format("unknown key '{}' in {}; valid keys: {}", key.str(), table_name, join(valid)));
  }
  return Status::ok();
}

Expected<std::string> TomlReader::string(std::string_view name, const toml::node& value) const {
  if (const auto* text = value.as_string()) return text->get();
  return type_error(name, value, "a string");
}

Expected<int64_t> TomlReader::integer(std::string_view name, const toml::node& value) const {
  if (const auto* number = value.as_integer()) return number->get();
  return type_error(name, value, "an integer");
}

Expected<bool> TomlReader::boolean(std::string_view name, const toml::node& value) const {
  if (const auto* flag = value.as_boolean()) return flag->get();
  return type_error(name, value, "a boolean");
}

Expected<const toml::table*> TomlReader::table(std::string_view name, const toml::node& value) const {
  if (const auto* result = value.as_table()) return result;
  return type_error(name, value, "a table");
}

Expected<std::vector<std::string>> TomlReader::string_list(std::string_view name, const toml::node& value) const {
  if (const auto* text = value.as_string()) return std::vector<std::string>{text->get()};
  const auto* array = value.as_array();
  if (array == nullptr) return type_error(name, value, "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      return error(at(element), fmt::format("key '{}' must be an array of strings, got an element of type {}",
                                            name, toml_type_name(element)));
    }
    out.push_back(text->get());
  }
  return out;
}

}  // namespace llmc::recipe
