// tests/unit/plugins_smoothing/smoothing_cases.cpp
#include "plugins_smoothing/smoothing_cases.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/reference_cases.h"

namespace llmc::smoothing_test {
namespace {

namespace fs = std::filesystem;

using Cases = test::ReferenceCases;

const Cases& cases() {
  static const Cases data = test::load_reference_cases(
      fs::path(LLMC_SOURCE_DIR) / "tests/unit/plugins_smoothing/make_smoothing_cases.py", "plugins_smoothing");
  return data;
}

}  // namespace

std::vector<nlohmann::json> cases_of(std::string_view kind) {
  std::vector<nlohmann::json> selected;
  for (const auto& item : cases().cases)
    if (item["kind"] == kind) selected.push_back(item);
  EXPECT_FALSE(selected.empty()) << "no reference cases of kind " << kind;
  return selected;
}

const at::Tensor& reference(const std::string& name) {
  static const at::Tensor missing;
  const auto it = cases().tensors.find(name);
  if (it == cases().tensors.end()) {
    ADD_FAILURE() << "no reference tensor " << name;
    return missing;
  }
  return it->second;
}

bool has_reference(const std::string& name) { return cases().tensors.contains(name); }

}  // namespace llmc::smoothing_test
