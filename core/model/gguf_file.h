// core/model/gguf_file.h - one GGUF file (llama.cpp's format), memory-mapped and strictly validated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/file_io.h"
#include "model/gguf_dequant.h"
#include "util/expected.h"

namespace llmc::model {

/// The type of a GGUF metadata value, by its number in the file.
enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8,
  ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

/// One metadata value: unsigned integers as uint64_t, signed as int64_t, floats as double, arrays as their
/// elements (all of `element_type`; arrays do not nest).
struct GgufValue {
  GgufValueType type;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<GgufValue>> value;
  GgufValueType element_type = GgufValueType::UINT8;  // for ARRAY only

  /// The integer, when this is an integer type whose value fits int64_t.
  std::optional<int64_t> as_int() const;
  /// The number, for every integer and float type.
  std::optional<double> as_float() const;
  const bool* as_bool() const { return std::get_if<bool>(&value); }
  const std::string* as_string() const { return std::get_if<std::string>(&value); }
  const std::vector<GgufValue>* as_array() const { return std::get_if<std::vector<GgufValue>>(&value); }
};

/// One tensor of a GGUF file.
struct GgufTensorInfo {
  std::string name;
  GgmlType type;
  std::vector<int64_t> shape;  // torch order: the GGUF dimensions reversed (ne0 last)
  uint64_t offset;             // absolute byte offset of the data in the file
  uint64_t nbytes;             // numel / block size * bytes per block

  uint64_t numel() const;
};

/// A GGUF file, version 2 or 3 (little-endian): the header, the metadata key/values, the tensor infos, then
/// the aligned data section, which every tensor lies inside, aligned and without overlap.
class GgufFile {
 public:
  static constexpr uint32_t kDefaultAlignment = 32;

  /// Maps and validates `path`; every error names the file and, where one is at fault, the key or tensor.
  static Expected<std::unique_ptr<GgufFile>> open(const std::filesystem::path& path);

  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  /// Key/values by key.
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  /// nullptr when the file has no key `key`.
  const GgufValue* find_metadata(std::string_view key) const;
  /// Tensors in the order of the file's tensor infos.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  /// nullptr when the file has no tensor `name`.
  const GgufTensorInfo* find(std::string_view name) const;
  /// The tensor's bytes in the mapping.
  std::span<const std::byte> data(const GgufTensorInfo& info) const;
  /// The tensor as float32, numel values in torch (row-major) order; errors name the file and tensor.
  Expected<std::vector<float>> dequantize(const GgufTensorInfo& info) const;

 private:
  GgufFile() = default;
  Status parse();

  std::filesystem::path path_;
  MappedFile mapped_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
};

}  // namespace llmc::model
