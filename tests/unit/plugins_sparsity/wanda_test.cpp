// tests/unit/plugins_sparsity/wanda_test.cpp - plugins/wanda/wanda_prune.cpp against LLM Compressor's
// accumulate_row_scalars and sparsify_weight on the same weights and inputs (make_reference_cases.py).
//
// Tolerances. Masks and pruned weights must be EQUAL (Wanda changes no weight it keeps, and both sides
// order the same float32 metric with the same sort and topk). Row scalars: relative 1e-6 (of max S): the
// same float32 ATen operations in the same order; a norm's reduction order may still differ with threads.
#include <gtest/gtest.h>

#include <cstdio>

#include "plugins_sparsity/reference_cases.h"
#include "wanda/wanda_prune.h"

namespace llmc::wanda {
namespace {

using sparsity::testing::mask_differences;
using sparsity::testing::reference_cases;
using sparsity::testing::ReferenceCase;
using sparsity::testing::relative_difference;

constexpr double scalar_tolerance = 1e-6;

MaskStructure mask_of(const ReferenceCase& c) {
  const std::string mask = c.options.at("mask_structure").get<std::string>();
  return {std::stoll(mask.substr(0, mask.find(':'))), std::stoll(mask.substr(mask.find(':') + 1))};
}

RowScalars accumulate(const ReferenceCase& c) {
  RowScalars scalars{at::zeros({c.weight.size(1)}, at::kFloat), 0};
  for (std::size_t i = 0; i < c.batches.size(); ++i) accumulate_row_scalars(scalars, c.batches[i], c.samples[i]);
  return scalars;
}

void expect_reference_result(const ReferenceCase& c, const at::Tensor& row_scalars, const char* source) {
  const at::Tensor pruned =
      prune_weight(c.weight, row_scalars, c.options.at("sparsity").get<double>(), mask_of(c)).to(c.weight.scalar_type());
  const std::int64_t mask_diff = mask_differences(pruned, c.pruned);
  std::printf("  %s (%s row scalars): %.1f%% pruned, masks differ in %lld entries, weights equal: %d\n",
              c.name.c_str(), source, 100.0 * pruned.eq(0).sum().item<double>() / double(pruned.numel()),
              static_cast<long long>(mask_diff), int(pruned.equal(c.pruned)));
  EXPECT_EQ(mask_diff, 0) << c.name;
  EXPECT_TRUE(pruned.equal(c.pruned)) << c.name;
}

TEST(Wanda, RowScalarsMatchReference) {
  for (const ReferenceCase& c : reference_cases("wanda")) {
    const RowScalars scalars = accumulate(c);
    const double diff = relative_difference(scalars.values, c.statistic);
    std::printf("  %s: row scalars %.3g\n", c.name.c_str(), diff);
    EXPECT_LE(diff, scalar_tolerance) << c.name;
  }
}

TEST(Wanda, PrunesAsReferenceFromItsRowScalars) {
  for (const ReferenceCase& c : reference_cases("wanda")) expect_reference_result(c, c.statistic, "reference");
}

TEST(Wanda, PrunesAsReferenceFromOwnRowScalars) {
  for (const ReferenceCase& c : reference_cases("wanda")) expect_reference_result(c, accumulate(c).values, "own");
}

TEST(Wanda, PrunesTheSmallestPerRowAndGroup) {
  const at::Tensor weight = at::tensor({1.0f, -4.0f, 3.0f, 2.0f, -1.0f, 0.5f, 2.0f, 8.0f}).reshape({1, 8});
  const at::Tensor scalars = at::tensor({4.0f, 1.0f, 1.0f, 1.0f, 1.0f, 16.0f, 1.0f, 1.0f});
  // metric |W| sqrt(S) = 2 4 3 2 | 1 2 2 8: the lower column first among equals
  EXPECT_TRUE(prune_weight(weight, scalars, 0.5, {}).equal(
      at::tensor({0.0f, -4.0f, 3.0f, 0.0f, 0.0f, 0.0f, 2.0f, 8.0f}).reshape({1, 8})));
  const at::Tensor two_of_four = prune_weight(weight, scalars, 0.0, {2, 4});
  EXPECT_EQ(two_of_four.eq(0).sum().item<std::int64_t>(), 4);
  EXPECT_TRUE(two_of_four.index({0, at::indexing::Slice(1, 3)}).equal(at::tensor({-4.0f, 3.0f})));
  EXPECT_EQ(two_of_four.index({0, 7}).item<float>(), 8.0f);
}

}  // namespace
}  // namespace llmc::wanda
