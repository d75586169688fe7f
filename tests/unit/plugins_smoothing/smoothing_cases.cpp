// tests/unit/plugins_smoothing/smoothing_cases.cpp
#include "plugins_smoothing/smoothing_cases.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "model/safetensors_file.h"
#include "support/python_fixture.h"

namespace llmc::smoothing_test {
namespace {

namespace fs = std::filesystem;

struct Cases {
  nlohmann::json cases = nlohmann::json::array();
  std::map<std::string, at::Tensor> tensors;
};

std::optional<at::ScalarType> scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F32: return at::kFloat;
    case DType::F64: return at::kDouble;
    case DType::I64: return at::kLong;
    default: return std::nullopt;
  }
}

Cases load() {
  Cases data;
  auto dir = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/plugins_smoothing/make_smoothing_cases.py",
                                  "plugins_smoothing");
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
    const auto dtype = scalar_type(info.dtype);
    if (!dtype) {
      ADD_FAILURE() << info.name << ": unexpected dtype " << name(info.dtype);
      continue;
    }
    const auto bytes = (*file)->data(info);
    at::Tensor tensor = at::empty(info.shape, at::TensorOptions().dtype(*dtype));
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

std::string byte_difference(const at::Tensor& actual, const at::Tensor& expected) {
  if (!actual.defined() || !expected.defined()) return "undefined tensor";
  if (actual.scalar_type() != expected.scalar_type())
    return fmt::format("dtype {} != {}", c10::toString(actual.scalar_type()), c10::toString(expected.scalar_type()));
  if (actual.sizes() != expected.sizes())
    return fmt::format("shape {} != {}", c10::str(actual.sizes()), c10::str(expected.sizes()));
  const at::Tensor a = actual.contiguous(), e = expected.contiguous();
  if (std::memcmp(a.const_data_ptr(), e.const_data_ptr(), a.nbytes()) == 0) return "";
  const at::Tensor differ = (a != e).reshape(-1);
  const int64_t first = differ.nonzero().flatten()[0].item<int64_t>();
  return fmt::format("{} of {} elements differ; first at flat index {}: {} != {}", differ.sum().item<int64_t>(),
                     a.numel(), first, a.reshape(-1)[first].item<double>(), e.reshape(-1)[first].item<double>());
}

}  // namespace llmc::smoothing_test
