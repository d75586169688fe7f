// tests/unit/plugins_gptq/gptq_cases.h - the reference cases of make_gptq_cases.py (made once per version of
// the script, cached under the build dir).
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <string>

namespace llmc::gptq::testing {

/// cases.json: one object per case (name, args, actorder, weight, hessian, block_size, dampening_frac, loss,
/// rtn_fallback); empty after recording a test failure when the cases cannot be made.
const nlohmann::json& gptq_cases();

/// The case named `name` (a test failure and an empty object when absent).
const nlohmann::json& gptq_case(const std::string& name);

/// A tensor of reference.safetensors (a test failure and a zero tensor when absent).
at::Tensor case_tensor(const std::string& name);

/// "" when `actual` equals `expected` element for element (dtype and shape included), else what differs.
std::string difference(const at::Tensor& actual, const at::Tensor& expected);

}  // namespace llmc::gptq::testing
