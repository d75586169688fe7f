// tests/unit/support/reference_cases.cpp
#include "support/reference_cases.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <llmc/torch.h>

#include <cstring>

#include "model/safetensors_file.h"
#include "support/python_fixture.h"

namespace llmc::test {

ReferenceCases load_reference_cases(const std::filesystem::path& script, std::string_view name) {
  ReferenceCases data;
  auto dir = python_fixture(script, name);
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
    at::ScalarType dtype;
    try {
      dtype = torch_bridge::scalar_type(to_dl(info.dtype));
    } catch (const c10::Error&) {
      ADD_FAILURE() << info.name << ": unexpected dtype " << llmc::name(info.dtype);
      continue;
    }
    const auto bytes = (*file)->data(info);
    at::Tensor tensor = at::empty(info.shape, at::TensorOptions().dtype(dtype));
    std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
    data.tensors.emplace(info.name, tensor);
  }
  data.cases = nlohmann::json::parse(read_text(*dir / "cases.json"));
  return data;
}

std::string byte_difference(const at::Tensor& actual, const at::Tensor& expected) {
  if (!actual.defined() || !expected.defined()) return "undefined tensor";
  if (actual.scalar_type() != expected.scalar_type())
    return fmt::format("dtype {} != {}", c10::toString(actual.scalar_type()), c10::toString(expected.scalar_type()));
  if (actual.sizes() != expected.sizes())
    return fmt::format("shape {} != {}", c10::str(actual.sizes()), c10::str(expected.sizes()));
  const at::Tensor a = actual.cpu().contiguous(), e = expected.contiguous();
  if (std::memcmp(a.const_data_ptr(), e.const_data_ptr(), a.nbytes()) == 0) return "";
  // element by element as bytes: NaNs and float8 compare too
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

}  // namespace llmc::test
