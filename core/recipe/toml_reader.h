// core/recipe/toml_reader.h - typed reads of toml++ values that fail with "file:line:column: ..." errors.
#pragma once

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recipe/source_location.h"
#include "util/expected.h"

namespace llmc::recipe {

/// "string", "integer", "float", "boolean", "array", "table", "date", "time" or "date-time".
std::string_view toml_type_name(const toml::node& node);

/// "a, b, c".
std::string join(std::span<const std::string_view> words);

/// The JSON value of a TOML value; tables and arrays convert recursively, dates and times to strings.
nlohmann::json toml_to_json(const toml::node& node);

/// Reads the values of one recipe table. Every error it makes reads
/// "file:line:column: <context>: <what>" (no context part when the context is empty).
class TomlReader {
 public:
  TomlReader(std::string file, std::string context) : file_(std::move(file)), context_(std::move(context)) {}

  const std::string& file() const { return file_; }
  const std::string& context() const { return context_; }
  TomlReader with_context(std::string context) const { return TomlReader(file_, std::move(context)); }

  SourceLocation at(const toml::source_region& region) const;
  SourceLocation at(const toml::node& node) const { return at(node.source()); }
  SourceLocation at(const toml::key& key) const { return at(key.source()); }

  Error error(const SourceLocation& where, std::string_view what) const;
  /// "key '<name>' must be <expected>, got <type>", at the value.
  Error type_error(std::string_view name, const toml::node& value, std::string_view expected) const;
  /// Fails on the first key of `table` not in `valid`, at that key, listing the valid keys.
  Status check_keys(const toml::table& table, std::span<const std::string_view> valid,
                    std::string_view table_name) const;

  Expected<std::string> string(std::string_view name, const toml::node& value) const;
  Expected<int64_t> integer(std::string_view name, const toml::node& value) const;
  Expected<bool> boolean(std::string_view name, const toml::node& value) const;
  Expected<const toml::table*> table(std::string_view name, const toml::node& value) const;
  /// A string or an array of strings (a lone string is a one-element list, as in the reference).
  Expected<std::vector<std::string>> string_list(std::string_view name, const toml::node& value) const;

 private:
  std::string file_;
  std::string context_;
};

}  // namespace llmc::recipe
