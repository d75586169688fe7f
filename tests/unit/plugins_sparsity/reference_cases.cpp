// tests/unit/plugins_sparsity/reference_cases.cpp
#include "plugins_sparsity/reference_cases.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "support/python_fixture.h"

namespace llmc::sparsity::testing {
namespace {

namespace fs = std::filesystem;

at::Tensor read_tensor(const fs::path& dir, const nlohmann::json& entry) {
  static const std::map<std::string, at::ScalarType> types = {
      {"float32", at::kFloat}, {"bfloat16", at::kBFloat16}, {"float16", at::kHalf}};
  const auto type = types.find(entry.at("dtype").get<std::string>());
  if (type == types.end()) throw std::runtime_error("unexpected dtype " + entry.at("dtype").dump());
  at::Tensor tensor = at::empty(entry.at("shape").get<std::vector<std::int64_t>>(), type->second);
  const std::string bytes = test::read_text(dir / entry.at("file").get<std::string>());
  if (bytes.size() != tensor.nbytes()) throw std::runtime_error("wrong size: " + entry.at("file").dump());
  std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

std::vector<ReferenceCase> load_all() {
  const auto dir = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/plugins_sparsity/make_reference_cases.py",
                                        "plugins_sparsity");
  if (!dir) {
    ADD_FAILURE() << dir.error().message;
    return {};
  }
  std::vector<ReferenceCase> cases;
  for (const nlohmann::json& entry : nlohmann::json::parse(test::read_text(*dir / "cases.json"))) {
    ReferenceCase c;
    c.name = entry.at("algorithm").get<std::string>() + ":" + entry.at("name").get<std::string>();
    c.options = entry.at("options");
    const nlohmann::json& tensors = entry.at("tensors");
    c.weight = read_tensor(*dir, tensors.at("weight"));
    c.samples = entry.at("batch_samples").get<std::vector<std::int64_t>>();
    for (std::size_t i = 0; i < c.samples.size(); ++i) {
      const at::Tensor batch = read_tensor(*dir, tensors.at("batch" + std::to_string(i)));
      c.batches.push_back(batch.reshape({-1, batch.size(-1)}));
    }
    c.statistic = read_tensor(*dir, tensors.contains("hessian") ? tensors.at("hessian") : tensors.at("row_scalars"));
    c.pruned = read_tensor(*dir, tensors.at("pruned"));
    c.loss = entry.value("loss", 0.0);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

std::vector<ReferenceCase> reference_cases(const std::string& algorithm) {
  static const std::vector<ReferenceCase> all = load_all();
  std::vector<ReferenceCase> selected;
  for (const ReferenceCase& c : all) {
    if (c.name.starts_with(algorithm + ":")) selected.push_back(c);
  }
  if (!all.empty() && selected.empty()) ADD_FAILURE() << "no reference case for " << algorithm;
  return selected;
}

std::int64_t mask_differences(const at::Tensor& a, const at::Tensor& b) {
  return a.eq(0).ne(b.eq(0)).sum().item<std::int64_t>();
}

double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor a64 = a.to(at::kDouble), b64 = b.to(at::kDouble);
  return (a64 - b64).abs().max().item<double>() / b64.abs().max().item<double>();
}

}  // namespace llmc::sparsity::testing
