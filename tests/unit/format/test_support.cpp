// tests/unit/format/test_support.cpp - reference fixtures for the format tests.
#include "support/python_fixture.h"
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

using test::read_text;

fs::path reference_dir() {
  auto dir = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/format/make_reference_checkpoints.py",
                                  "format");
  if (!dir) {
    std::cerr << dir.error().message << "\n";
    return {};
  }
  return *dir;
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
