// core/data/tokenizer_json.cpp
#include "data/tokenizer_json.h"

#include <fmt/format.h>

#include "data/utf8.h"

namespace llmc::data {
namespace {

const nlohmann::json& null_json() {
  static const nlohmann::json null_value;
  return null_value;
}

const char* kind_of(const nlohmann::json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  return "an object";
}

}  // namespace

JsonNode::JsonNode(const nlohmann::json& value, std::string file, std::string path)
    : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

JsonNode JsonNode::operator[](std::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  if (value_->is_object()) {
    const auto found = value_->find(key);
    if (found != value_->end()) return JsonNode(*found, file_, std::move(path));
  }
  return JsonNode(null_json(), file_, std::move(path));
}

JsonNode JsonNode::at(std::size_t index) const {
  return JsonNode(value_->at(index), file_, fmt::format("{}[{}]", path_, index));
}

Error JsonNode::error(std::string_view message) const {
  if (path_.empty()) return Error{fmt::format("{}: {}", file_, message)};
  return Error{fmt::format("{}: {} {}", file_, path_, message)};
}

Error JsonNode::unsupported_type(std::string_view supported) const {
  const JsonNode type_node = (*this)["type"];
  const std::string type = type_node.value().is_string() ? type_node.value().get<std::string>() : "";
  return type_node.error(fmt::format("\"{}\" is not supported (supported: {})", type, supported));
}

Expected<std::string> JsonNode::as_string() const {
  if (!value_->is_string()) return error(fmt::format("must be a string, not {}", kind_of(*value_)));
  return value_->get<std::string>();
}

Expected<bool> JsonNode::as_bool() const {
  if (!value_->is_boolean()) return error(fmt::format("must be a boolean, not {}", kind_of(*value_)));
  return value_->get<bool>();
}

Expected<int64_t> JsonNode::as_int() const {
  if (!value_->is_number_integer()) return error(fmt::format("must be an integer, not {}", kind_of(*value_)));
  if (value_->is_number_unsigned() && value_->get<uint64_t>() > uint64_t{INT64_MAX}) return error("is too large");
  return value_->get<int64_t>();
}

Expected<std::string> JsonNode::as_char() const {
  auto text = as_string();
  if (!text) return text;
  if (utf8_char_count(*text) != 1) return error(fmt::format("must be a single character, not \"{}\"", *text));
  return text;
}

Expected<std::string> JsonNode::string(std::string_view key) const {
  const JsonNode member = (*this)[key];
  if (member.is_null()) return member.error("is missing");
  return member.as_string();
}

Expected<bool> JsonNode::boolean(std::string_view key, bool fallback) const {
  const JsonNode member = (*this)[key];
  if (member.is_null()) return fallback;
  return member.as_bool();
}

Expected<std::optional<std::string>> JsonNode::optional_string(std::string_view key) const {
  const JsonNode member = (*this)[key];
  if (member.is_null()) return std::optional<std::string>();
  auto text = member.as_string();
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

}  // namespace llmc::data
