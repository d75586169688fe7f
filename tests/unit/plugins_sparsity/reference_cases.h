// tests/unit/plugins_sparsity/reference_cases.h - the cases make_reference_cases.py computes with LLM
// Compressor's own SparseGPT and Wanda functions (made once per version of the script, cached under the
// build dir), and comparisons of our results with theirs.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace llmc::sparsity::testing {

struct ReferenceCase {
  std::string name;
  nlohmann::json options;                 // the recipe keys the case ran with
  at::Tensor weight;                      // [out, in], float32 or bfloat16
  std::vector<at::Tensor> batches;        // calibration inputs, [samples * tokens, in] as the host hands them
  std::vector<std::int64_t> samples;      // samples (sequences) of each batch
  at::Tensor statistic;                   // the reference's Hessian (SparseGPT) or row scalars (Wanda)
  at::Tensor pruned;                      // the reference's pruned weight, in the weight's dtype
  double loss = 0;                        // the reference's loss (SparseGPT)
};

/// The cases of `algorithm` ("sparsegpt" or "wanda"); none, after recording a failure, when they cannot be made.
std::vector<ReferenceCase> reference_cases(const std::string& algorithm);

/// How many entries are pruned (zero) in one of `a`, `b` but not in the other.
std::int64_t mask_differences(const at::Tensor& a, const at::Tensor& b);

/// max |a - b| / max |b|, in float64.
double relative_difference(const at::Tensor& a, const at::Tensor& b);

}  // namespace llmc::sparsity::testing
