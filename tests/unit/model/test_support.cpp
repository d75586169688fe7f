// tests/unit/model/test_support.cpp
#include "support/python_fixture.h"
#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "model/checkpoint.h"
#include "model/output_directory.h"
#include "model/safetensors_writer.h"

namespace llmc::model::testing {

TempDir::TempDir(std::string_view tag) {
  static std::atomic<int> counter = 0;
  path_ = std::filesystem::temp_directory_path() / fmt::format("llmc-test-{}-{}-{}", tag, ::getpid(), counter++);
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string safetensors_bytes(std::string_view header, std::string_view data) {
  std::string bytes(8, '\0');
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  bytes += data;
  return bytes;
}

int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_python_script(std::string_view script, const std::string& args) {
  return run_command(fmt::format("'{}' '{}/tests/unit/model/{}' {}", LLMC_PYTHON, LLMC_SOURCE_DIR, script, args));
}

Status copy_checkpoint(const std::filesystem::path& source, const std::filesystem::path& output,
                       uint64_t max_shard_size) {
  auto checkpoint = Checkpoint::open(source);
  if (!checkpoint) return checkpoint.error();
  auto out = OutputDirectory::create(output, /*overwrite=*/true);
  if (!out) return out.error();
  SafetensorsWriter writer(out->path(), max_shard_size, checkpoint->tensor_names().size());
  for (const std::string& name : checkpoint->tensor_names()) {
    const TensorRef ref = *checkpoint->find(name);
    LLMC_TRY(writer.add_from_file(name, ref.info->dtype, ref.info->shape, ref.file->fd(), ref.info->offset,
                                  ref.info->nbytes));
  }
  LLMC_TRY(writer.finish());
  LLMC_TRY(copy_auxiliary_files(*checkpoint, out->path()));
  LLMC_TRY(write_config(checkpoint->config(), out->path()));
  return out->commit();
}

std::filesystem::path python_fixtures() {
  auto dir = test::python_fixture(std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/model/make_fixtures.py", "model");
  if (!dir) {
    std::cerr << dir.error().message << "\n";
    return {};
  }
  return *dir;
}

}  // namespace llmc::model::testing
