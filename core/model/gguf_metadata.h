// core/model/gguf_metadata.h - typed reads of a GGUF file's metadata keys; every error names the file and
// the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf_file.h"
#include "util/expected.h"

namespace llmc::model {

/// An integer key that must be present (any integer type, value within int64_t).
Expected<int64_t> require_int(const GgufFile& file, std::string_view key);
/// An integer key that may be absent (nullopt), but is an error when present with another type.
Expected<std::optional<int64_t>> optional_int(const GgufFile& file, std::string_view key);
/// A float or integer key that may be absent.
Expected<std::optional<double>> optional_float(const GgufFile& file, std::string_view key);
/// A bool key that may be absent.
Expected<std::optional<bool>> optional_bool(const GgufFile& file, std::string_view key);
/// A string key that must be present.
Expected<std::string> require_string(const GgufFile& file, std::string_view key);
/// A string key that may be absent.
Expected<std::optional<std::string>> optional_string(const GgufFile& file, std::string_view key);
/// An array key that must be present, its elements all of `element_type` (integer types accept any integer
/// element type, as writers differ: INT32 or UINT32 token types).
Expected<const std::vector<GgufValue>*> require_array(const GgufFile& file, std::string_view key,
                                                      GgufValueType element_type);
/// An array key that may be absent (nullptr).
Expected<const std::vector<GgufValue>*> optional_array(const GgufFile& file, std::string_view key,
                                                       GgufValueType element_type);

/// "UINT32", "STRING", ... for messages.
std::string_view gguf_value_type_name(GgufValueType type);

}  // namespace llmc::model
