// tests/unit/support/reference_cases.h - reference cases made by a Python script of the tests (cases.json and
// reference.safetensors), and byte-exact tensor comparison.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace llmc::test {

struct ReferenceCases {
  nlohmann::json cases = nlohmann::json::array();  // cases.json
  std::map<std::string, at::Tensor> tensors;       // reference.safetensors
};

/// The cases.json and reference.safetensors that `script` writes (python_fixture(script, name)). What cannot be
/// made or read is a test failure, and leaves the cases empty or the tensor out.
ReferenceCases load_reference_cases(const std::filesystem::path& script, std::string_view name);

/// An empty string when `actual` has `expected`'s dtype, shape and bytes; else what differs, with the first
/// differing element.
std::string byte_difference(const at::Tensor& actual, const at::Tensor& expected);

}  // namespace llmc::test
