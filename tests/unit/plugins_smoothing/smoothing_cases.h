// tests/unit/plugins_smoothing/smoothing_cases.h - the reference runs of make_smoothing_cases.py (made once per
// version of the script, cached under the build dir) and byte-exact tensor comparison.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "support/reference_cases.h"

namespace llmc::smoothing_test {

/// The cases of `kind` ("awq" or "smoothquant") in cases.json; none after recording a test failure when the
/// fixture cannot be made.
std::vector<nlohmann::json> cases_of(std::string_view kind);

/// A tensor of reference.safetensors (an undefined tensor after recording a failure when absent).
const at::Tensor& reference(const std::string& name);

/// Whether reference.safetensors has `name`.
bool has_reference(const std::string& name);

using test::byte_difference;

}  // namespace llmc::smoothing_test
