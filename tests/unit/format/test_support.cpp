// tests/unit/format/test_support.cpp - reference fixtures for the format tests.
#include "format/test_support.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "format/tensor_dtype.h"
#include "model/safetensors_file.h"

namespace llmc::format::testing {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

fs::path reference_dir() {
  const fs::path script = fs::path(LLMC_SOURCE_DIR) / "tests/unit/format/make_reference_checkpoints.py";
  const fs::path dir = fs::path(LLMC_BINARY_DIR) / "test-fixtures" /
                       fmt::format("format-{:016x}", std::hash<std::string>{}(read_text(script)));
  if (fs::exists(dir)) return dir;
  fs::path staging = dir;
  staging += fmt::format(".tmp-{}", ::getpid());
  fs::remove_all(staging);
  fs::create_directories(staging);
  const std::string log = staging.string() + ".log";
  const std::string command = fmt::format("'{}' '{}' '{}' > '{}' 2>&1", LLMC_PYTHON, script.string(), staging.string(), log);
  const int status = std::system(command.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "make_reference_checkpoints.py failed:\n" << read_text(log) << "\n";
    fs::remove_all(staging);
    return {};
  }
  fs::remove(log);
  std::error_code ec;
  fs::rename(staging, dir, ec);
  if (ec) fs::remove_all(staging);  // a concurrent test made it first
  return dir;
}

std::map<std::string, at::Tensor> read_safetensors(const fs::path& path) {
  std::map<std::string, at::Tensor> tensors;
  auto file = model::SafetensorsFile::open(path);
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  if (!file) return tensors;
  for (const auto& info : file.value()->tensors()) {
    auto tensor = tensor_from_bytes(info.dtype, info.shape, file.value()->data(info));
    EXPECT_TRUE(tensor) << info.name << ": " << (tensor ? "" : tensor.error().message);
    if (tensor) tensors.emplace(info.name, *tensor);
  }
  return tensors;
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_text(path)); }

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor ca = a.contiguous();
  const at::Tensor cb = b.contiguous();
  return std::memcmp(ca.const_data_ptr(), cb.const_data_ptr(), ca.nbytes()) == 0;
}

}  // namespace llmc::format::testing
