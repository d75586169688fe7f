// tests/unit/plugins_gptq/gptq_cases.cpp
#include "plugins_gptq/gptq_cases.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/reference_cases.h"

namespace llmc::gptq::testing {
namespace {

namespace fs = std::filesystem;

using Cases = test::ReferenceCases;

const Cases& cases() {
  static const Cases data = test::load_reference_cases(
      fs::path(LLMC_SOURCE_DIR) / "tests/unit/plugins_gptq/make_gptq_cases.py", "plugins_gptq");
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
