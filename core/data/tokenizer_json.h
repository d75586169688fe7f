// core/data/tokenizer_json.h - reading tokenizer.json: every value knows its file and JSON path, so that each
// error names both (`tokenizer.json: model.merges[3] must be ...`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace llmc::data {

/// A value inside a tokenizer.json, with where it is. An absent key reads as a null node.
class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string file, std::string path);

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }
  bool is_null() const { return value_->is_null(); }

  /// The member `key` of an object (a null node when absent or when this is not an object).
  JsonNode operator[](std::string_view key) const;
  /// The element `index` of an array (which must exist).
  JsonNode at(std::size_t index) const;
  /// The number of elements of an array (0 for anything else).
  std::size_t size() const { return value_->is_array() ? value_->size() : 0; }

  /// "{file}: {path} {message}".
  Error error(std::string_view message) const;
  /// The error for an unknown `type`, listing the supported ones.
  Error unsupported_type(std::string_view supported) const;

  Expected<std::string> as_string() const;
  Expected<bool> as_bool() const;
  Expected<int64_t> as_int() const;
  /// A string of exactly one character (the `char` fields of tokenizers), as its UTF-8.
  Expected<std::string> as_char() const;

  /// The member `key`: required, or `fallback` when absent or null.
  Expected<std::string> string(std::string_view key) const;
  Expected<bool> boolean(std::string_view key, bool fallback) const;
  Expected<std::optional<std::string>> optional_string(std::string_view key) const;
  /// The "type" member.
  Expected<std::string> type() const { return string("type"); }

 private:
  const nlohmann::json* value_;
  std::string file_;
  std::string path_;
};

}  // namespace llmc::data
