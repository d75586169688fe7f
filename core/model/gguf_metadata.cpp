// core/model/gguf_metadata.cpp
#include "model/gguf_metadata.h"

#include <fmt/format.h>

namespace llmc::model {
namespace {

bool is_integer(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16: case GgufValueType::INT16:
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::UINT64: case GgufValueType::INT64:
      return true;
    default:
      return false;
  }
}

Error missing(const GgufFile& file, std::string_view key) {
  return Error{fmt::format("{}: the metadata key '{}' is missing", file.path().string(), key)};
}

Error wrong_type(const GgufFile& file, std::string_view key, const GgufValue& value, std::string_view expected) {
  return Error{fmt::format("{}: the metadata key '{}' is {}, expected {}", file.path().string(), key,
                           gguf_value_type_name(value.type), expected)};
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: return "UINT8";
    case GgufValueType::INT8: return "INT8";
    case GgufValueType::UINT16: return "UINT16";
    case GgufValueType::INT16: return "INT16";
    case GgufValueType::UINT32: return "UINT32";
    case GgufValueType::INT32: return "INT32";
    case GgufValueType::FLOAT32: return "FLOAT32";
    case GgufValueType::BOOL: return "BOOL";
    case GgufValueType::STRING: return "STRING";
    case GgufValueType::ARRAY: return "ARRAY";
    case GgufValueType::UINT64: return "UINT64";
    case GgufValueType::INT64: return "INT64";
    case GgufValueType::FLOAT64: return "FLOAT64";
  }
  return "an unknown type";
}

Expected<std::optional<int64_t>> optional_int(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.find_metadata(key);
  if (value == nullptr) return std::optional<int64_t>{};
  if (!is_integer(value->type)) return wrong_type(file, key, *value, "an integer");
  const auto number = value->as_int();
  if (!number) return Error{fmt::format("{}: the metadata key '{}' is out of range", file.path().string(), key)};
  return std::optional<int64_t>{*number};
}

Expected<int64_t> require_int(const GgufFile& file, std::string_view key) {
  auto value = optional_int(file, key);
  if (!value) return value.error();
  if (!*value) return missing(file, key);
  return **value;
}

Expected<std::optional<double>> optional_float(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.find_metadata(key);
  if (value == nullptr) return std::optional<double>{};
  const bool is_float = value->type == GgufValueType::FLOAT32 || value->type == GgufValueType::FLOAT64;
  if (!is_float && !is_integer(value->type)) return wrong_type(file, key, *value, "a number");
  return std::optional<double>{*value->as_float()};
}

Expected<std::optional<bool>> optional_bool(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.find_metadata(key);
  if (value == nullptr) return std::optional<bool>{};
  if (value->as_bool() == nullptr) return wrong_type(file, key, *value, "a BOOL");
  return std::optional<bool>{*value->as_bool()};
}

Expected<std::optional<std::string>> optional_string(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.find_metadata(key);
  if (value == nullptr) return std::optional<std::string>{};
  if (value->as_string() == nullptr) return wrong_type(file, key, *value, "a STRING");
  return std::optional<std::string>{*value->as_string()};
}

Expected<std::string> require_string(const GgufFile& file, std::string_view key) {
  auto value = optional_string(file, key);
  if (!value) return value.error();
  if (!*value) return missing(file, key);
  return std::move(**value);
}

Expected<const std::vector<GgufValue>*> optional_array(const GgufFile& file, std::string_view key,
                                                       GgufValueType element_type) {
  const GgufValue* value = file.find_metadata(key);
  if (value == nullptr) return static_cast<const std::vector<GgufValue>*>(nullptr);
  const std::string expected = fmt::format("an ARRAY of {}", is_integer(element_type) ? std::string_view("integers")
                                                                 : gguf_value_type_name(element_type));
  const auto* elements = value->as_array();
  if (elements == nullptr) return wrong_type(file, key, *value, expected);
  const bool matches = is_integer(element_type) ? is_integer(value->element_type) : value->element_type == element_type;
  if (!matches && !elements->empty())
    return Error{fmt::format("{}: the metadata key '{}' is an ARRAY of {}, expected {}", file.path().string(), key,
                             gguf_value_type_name(value->element_type), expected)};
  return elements;
}

Expected<const std::vector<GgufValue>*> require_array(const GgufFile& file, std::string_view key,
                                                      GgufValueType element_type) {
  auto elements = optional_array(file, key, element_type);
  if (!elements) return elements.error();
  if (*elements == nullptr) return missing(file, key);
  return *elements;
}

}  // namespace llmc::model
