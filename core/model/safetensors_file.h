// core/model/safetensors_file.h - one safetensors file, memory-mapped and strictly validated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/file_io.h"
#include "tensor/dtype.h"
#include "util/expected.h"

namespace llmc::model {

/// One tensor of a safetensors header.
struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // every dimension >= 0
  uint64_t offset;             // absolute byte offset of the data in the file
  uint64_t nbytes;             // == byte_size(dtype, numel)

  uint64_t numel() const;
};

/// A safetensors file: the 8-byte little-endian header length, the JSON header, then the data buffer,
/// which the tensors cover exactly (no holes, no overlap, nothing after), as the Rust library requires.
class SafetensorsFile {
 public:
  /// Upper bound on the header, as in the Rust library.
  static constexpr uint64_t kMaxHeaderSize = 100'000'000;

  /// Maps and validates `path`; every error names the file and, where one is at fault, the tensor.
  static Expected<std::unique_ptr<SafetensorsFile>> open(const std::filesystem::path& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// An open read-only descriptor of the file (for copy_file_range), owned by this object.
  int fd() const { return mapped_.fd(); }
  /// Tensors in file order (by data offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  /// nullptr when the file has no tensor `name`.
  const TensorInfo* find(std::string_view name) const;
  /// The tensor's bytes in the mapping (pages are read on first touch).
  std::span<const std::byte> data(const TensorInfo& info) const;
  /// Unmaps the pages that lie wholly inside the tensor's bytes from this process (they stay in the page
  /// cache), so resident memory does not grow with every tensor read; a later data() reads them again.
  void release(const TensorInfo& info) const;
  /// Reads the tensor's bytes into the page cache (through a small buffer: nothing is mapped, so resident
  /// memory does not grow), so that a later data() finds them there. A hint: read errors are left to data().
  void prefetch(const TensorInfo& info) const;
  /// The "__metadata__" map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  Status parse_header(uint64_t header_size);

  std::filesystem::path path_;
  MappedFile mapped_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

}  // namespace llmc::model
