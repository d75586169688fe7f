// tests/unit/tensor/torch_cases.h - torch's conversion outputs for the copy_convert tests, made once per
// build by make_convert_cases.py with LLMC_PYTHON and cached under the build directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llmc::test {

/// The directory of `<SRC>.bin` and `<SRC>_to_<DST>.bin` files; empty with `error` set on failure.
std::filesystem::path torch_convert_cases(std::string& error);

/// A whole file; 64-byte aligned storage so that any element type may be read in place.
struct FileBytes {
  std::vector<uint64_t> storage;
  size_t size = 0;
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(storage.data()); }
};
FileBytes read_file(const std::filesystem::path& path);

}  // namespace llmc::test
