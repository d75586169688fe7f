// core/pipeline/spill_file.h - a temporary file of fixed size for data that does not fit the memory budget,
// removed when its owner is destroyed (a failed run included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "util/expected.h"

namespace llmc::pipeline {

class SpillFile {
 public:
  /// Creates `directory`/`prefix`XXXXXX with `size` bytes reserved on disk, so that a full disk fails here
  /// rather than in the middle of the run.
  static Expected<std::unique_ptr<SpillFile>> create(const std::filesystem::path& directory, std::string_view prefix,
                                                     uint64_t size);
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  ~SpillFile();

  Status write(uint64_t offset, std::span<const std::byte> bytes);
  Status read(uint64_t offset, std::span<std::byte> bytes) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  SpillFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_;
};

}  // namespace llmc::pipeline
