// tests/unit/exec/exec_test_support.cpp - fixture access for the exec tests.
#include "exec/exec_test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "llmc/torch.h"
#include "model/safetensors_file.h"
#include "support/python_fixture.h"

namespace llmc::exec::testing {

std::filesystem::path fixture_dir() {
  static const std::filesystem::path dir = [] {
    auto made = test::python_fixture(std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/exec/make_exec_fixtures.py", "exec");
    if (!made) {
      ADD_FAILURE() << made.error().message;
      return std::filesystem::path();
    }
    return *made;
  }();
  return dir;
}

std::vector<std::string> fixture_cases() {
  const auto dir = fixture_dir();
  if (dir.empty()) return {};
  return nlohmann::json::parse(test::read_text(dir / "cases.json"))["cases"].get<std::vector<std::string>>();
}

std::map<std::string, at::Tensor> read_tensors(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> out;
  auto file = model::SafetensorsFile::open(path);
  if (!file) {
    ADD_FAILURE() << file.error().message;
    return out;
  }
  for (const auto& info : (*file)->tensors()) {
    const auto bytes = (*file)->data(info);
    const auto type = torch_bridge::scalar_type(to_dl(info.dtype));
    out.emplace(info.name, at::from_blob(const_cast<std::byte*>(bytes.data()), info.shape, at::TensorOptions().dtype(type)).clone());
  }
  return out;
}

}  // namespace llmc::exec::testing
