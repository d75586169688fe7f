// tests/unit/model/test_support.h - temporary directories, hand-made safetensors bytes, and the cached
// Python fixtures (make_fixtures.py) for the model I/O tests.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/expected.h"

namespace llmc::model::testing {

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view tag);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);

/// The 8-byte little-endian header length, `header`, then `data`.
std::string safetensors_bytes(std::string_view header, std::string_view data);

/// Runs a shell command; returns its exit status (-1 when it did not exit normally).
int run_command(const std::string& command);

/// Runs tests/unit/model/<script> with the project's Python and `args`; returns its exit status.
int run_python_script(std::string_view script, const std::string& args);

/// Copies the checkpoint at `source` to `output` the way an llmc run writes one: OutputDirectory,
/// SafetensorsWriter::add_from_file for every tensor, the auxiliary files and config.json, commit.
Status copy_checkpoint(const std::filesystem::path& source, const std::filesystem::path& output,
                       uint64_t max_shard_size);

/// The output of make_fixtures.py, made once per script content and kept under the build directory
/// (tests run in separate processes). Empty when the script failed (its log is printed).
std::filesystem::path python_fixtures();

}  // namespace llmc::model::testing
