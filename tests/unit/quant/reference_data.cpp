// tests/unit/quant/reference_data.cpp - generating, caching and reading the reference cases.
#include "quant/reference_data.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/safetensors_file.h"
#include "support/python_fixture.h"

namespace llmc::quant::testing {
namespace {

namespace fs = std::filesystem;

using test::read_text;

fs::path reference_dir() {
  auto dir = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/quant/make_reference_cases.py", "quant");
  if (!dir) {
    ADD_FAILURE() << dir.error().message;
    return {};
  }
  return *dir;
}

std::optional<at::ScalarType> scalar_type(DType dtype) {
  switch (dtype) {
    case DType::BOOL: return at::kBool;
    case DType::U8: return at::kByte;
    case DType::I8: return at::kChar;
    case DType::I16: return at::kShort;
    case DType::I32: return at::kInt;
    case DType::I64: return at::kLong;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F32: return at::kFloat;
    case DType::F64: return at::kDouble;
    case DType::F8_E4M3: return at::kFloat8_e4m3fn;
    default: return std::nullopt;
  }
}

ReferenceData load() {
  ReferenceData data{nlohmann::json::array(), {}};
  const fs::path dir = reference_dir();
  if (dir.empty()) return data;
  auto file = model::SafetensorsFile::open(dir / "reference.safetensors");
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
  data.cases = nlohmann::json::parse(read_text(dir / "cases.json"));
  return data;
}

}  // namespace

const ReferenceData& reference_data() {
  static const ReferenceData data = load();
  return data;
}

std::string byte_difference(const at::Tensor& actual, const at::Tensor& expected) {
  if (!actual.defined()) return "no tensor";
  if (actual.scalar_type() != expected.scalar_type()) {
    return fmt::format("dtype {} != {}", c10::toString(actual.scalar_type()), c10::toString(expected.scalar_type()));
  }
  if (actual.sizes() != expected.sizes()) {
    return fmt::format("shape {} != {}", c10::str(actual.sizes()), c10::str(expected.sizes()));
  }
  const at::Tensor a = actual.cpu().contiguous(), e = expected.contiguous();
  if (std::memcmp(a.const_data_ptr(), e.const_data_ptr(), a.nbytes()) == 0) return "";
  const int64_t element = a.element_size();
  const auto* pa = static_cast<const unsigned char*>(a.const_data_ptr());
  const auto* pe = static_cast<const unsigned char*>(e.const_data_ptr());
  int64_t first = -1, count = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * element, pe + i * element, element) != 0) {
      if (first < 0) first = i;
      ++count;
    }
  }
  const at::Tensor fa = a.reshape(-1).to(at::kDouble), fe = e.reshape(-1).to(at::kDouble);
  return fmt::format("{} of {} elements differ; first at flat index {}: {} != {}", count, a.numel(), first,
                     fa[first].item<double>(), fe[first].item<double>());
}

}  // namespace llmc::quant::testing
