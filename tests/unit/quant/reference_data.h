// tests/unit/quant/reference_data.h - the reference cases of make_reference_cases.py (generated once per
// version of the script, cached under the build dir) and byte-exact tensor comparison.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace llmc::quant::testing {

struct ReferenceData {
  nlohmann::json cases;                      // cases.json
  std::map<std::string, at::Tensor> tensors; // reference.safetensors
};

/// The reference cases; an empty case list after recording a test failure when they cannot be made.
const ReferenceData& reference_data();

/// An empty string when `actual` has `expected`'s dtype, shape and bytes; else what differs, with the
/// first differing element.
std::string byte_difference(const at::Tensor& actual, const at::Tensor& expected);

}  // namespace llmc::quant::testing
