// tests/unit/plugins_gptq/gptq_cases.cpp
#include "plugins_gptq/gptq_cases.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <llmc/torch.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "model/safetensors_file.h"
#include "support/python_fixture.h"

namespace llmc::gptq::testing {
namespace {

namespace fs = std::filesystem;

struct Cases {
  nlohmann::json cases = nlohmann::json::array();
  std::map<std::string, at::Tensor> tensors;
};

Cases load() {
  Cases data;
  auto dir = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/plugins_gptq/make_gptq_cases.py",
                                  "plugins_gptq");
  if (!dir) {
    ADD_FAILURE() << dir.error().message;
    return data;
  }
  auto file = model::SafetensorsFile::open(*dir / "reference.safetensors");
  if (!file) {
    ADD_FAILURE() << file.error().message;
    return data;
  }
  for (const auto& info : (*file)->tensors()) {
    const auto bytes = (*file)->data(info);
    at::Tensor tensor = at::empty(info.shape, at::TensorOptions().dtype(torch_bridge::scalar_type(to_dl(info.dtype))));
    std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
    data.tensors.emplace(info.name, tensor);
  }
  data.cases = nlohmann::json::parse(test::read_text(*dir / "cases.json"));
  return data;
}

const Cases& cases() {
  static const Cases data = load();
  return data;
}

}  // namespace

const nlohmann::json& gptq_cases() { return cases().cases; }

const nlohmann::json& gptq_case(const std::string& name) {
  static const nlohmann::json missing = nlohmann::json::object();
  for (const nlohmann::json& item : gptq_cases()) {
    if (item["name"] == name) return item;
  }
  ADD_FAILURE() << "no reference case " << name;
  return missing;
}

at::Tensor case_tensor(const std::string& name) {
  const auto it = cases().tensors.find(name);
  if (it == cases().tensors.end()) {
    ADD_FAILURE() << "no reference tensor " << name;
    return at::zeros({1});
  }
  return it->second;
}

std::string difference(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.scalar_type() != expected.scalar_type() || actual.sizes() != expected.sizes()) {
    return "got " + std::string(c10::toString(actual.scalar_type())) + " " + c10::str(actual.sizes()) + ", expected " +
           std::string(c10::toString(expected.scalar_type())) + " " + c10::str(expected.sizes());
  }
  const std::int64_t count = actual.ne(expected).sum().item<std::int64_t>();
  if (count == 0) return "";
  const double max_abs = (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
  return std::to_string(count) + " of " + std::to_string(actual.numel()) + " elements differ, max |diff| " +
         std::to_string(max_abs);
}

}  // namespace llmc::gptq::testing
