// tests/unit/plugins_sparsity/sparsegpt_test.cpp - plugins/sparsegpt/sparsify.cpp against LLM Compressor's
// accumulate_hessian and sparsify_weight on the same weights and inputs (make_reference_cases.py).
//
// Tolerances. Masks must be EQUAL: the same entries pruned. Hessians: relative 1e-6 (of max |H|); pruned
// weights: relative 1e-5 (of max |W|) in float32, and at most 1 unit in the last place of bfloat16 for the
// bfloat16 case: both sides run the same float32 ATen operations in the same order, so only the blocking
// of matrix products (thread count, BLAS kernels) may round sums differently, and such differences grow
// through the error feedback of ~300 columns.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "plugins_sparsity/reference_cases.h"
#include "sparsegpt/sparsify.h"

namespace llmc::sparsegpt {
namespace {

using sparsity::testing::mask_differences;
using sparsity::testing::reference_cases;
using sparsity::testing::ReferenceCase;
using sparsity::testing::relative_difference;

constexpr double hessian_tolerance = 1e-6;
constexpr double weight_tolerance = 1e-5;

SparsifyOptions options_of(const ReferenceCase& c) {
  SparsifyOptions options;
  options.sparsity = c.options.at("sparsity").get<double>();
  const std::string mask = c.options.at("mask_structure").get<std::string>();
  options.mask = {std::stoll(mask.substr(0, mask.find(':'))), std::stoll(mask.substr(mask.find(':') + 1))};
  options.block_size = c.options.at("block_size").get<std::int64_t>();
  options.preserve_sparsity_mask = c.options.at("preserve_sparsity_mask").get<bool>();
  return options;
}

Hessian accumulate(const ReferenceCase& c) {
  Hessian hessian{at::zeros({c.weight.size(1), c.weight.size(1)}, at::kFloat), 0};
  for (std::size_t i = 0; i < c.batches.size(); ++i) accumulate_hessian(hessian, c.batches[i], c.samples[i]);
  return hessian;
}

// Prunes the case's weight with `hessian` and compares with the reference's result.
void expect_reference_result(const ReferenceCase& c, const at::Tensor& hessian, const char* source) {
  const InverseHessian inverse = invert_hessian(hessian.clone(), c.options.at("dampening_frac").get<double>());
  const Sparsified result = sparsify_weight(c.weight, inverse, options_of(c));
  const at::Tensor pruned = result.weight.to(c.weight.scalar_type());
  const std::int64_t mask_diff = mask_differences(pruned, c.pruned);
  const double weight_diff = relative_difference(pruned, c.pruned);
  const double loss_diff = std::abs(result.loss - c.loss) / c.loss;
  std::printf("  %s (%s Hessian): %.1f%% pruned, masks differ in %lld entries, weights %.3g, loss %.3g\n",
              c.name.c_str(), source, 100.0 * pruned.eq(0).sum().item<double>() / double(pruned.numel()),
              static_cast<long long>(mask_diff), weight_diff, loss_diff);
  EXPECT_EQ(mask_diff, 0) << c.name;
  if (c.weight.scalar_type() == at::kBFloat16) {
    // one bfloat16 ulp of each element: |a - b| <= 2^-7 |b| (bfloat16 has 8 significant bits)
    const at::Tensor a = pruned.to(at::kDouble), b = c.pruned.to(at::kDouble);
    EXPECT_TRUE((a - b).abs().le(b.abs().mul(1.0 / 128)).all().item<bool>()) << c.name;
  } else {
    EXPECT_LE(weight_diff, weight_tolerance) << c.name;
  }
  EXPECT_LE(loss_diff, weight_tolerance) << c.name;
}

TEST(SparseGpt, HessianMatchesReference) {
  for (const ReferenceCase& c : reference_cases("sparsegpt")) {
    if (c.batches.empty()) continue;
    const Hessian hessian = accumulate(c);
    const double diff = relative_difference(hessian.matrix, c.statistic);
    std::printf("  %s: Hessian %.3g\n", c.name.c_str(), diff);
    EXPECT_LE(diff, hessian_tolerance) << c.name;
    std::int64_t samples = 0;
    for (const std::int64_t s : c.samples) samples += s;
    EXPECT_EQ(hessian.samples, samples);
  }
}

TEST(SparseGpt, PrunesAsReferenceFromItsHessian) {
  for (const ReferenceCase& c : reference_cases("sparsegpt")) expect_reference_result(c, c.statistic, "reference");
}

TEST(SparseGpt, PrunesAsReferenceFromOwnHessian) {
  for (const ReferenceCase& c : reference_cases("sparsegpt")) {
    if (!c.batches.empty()) expect_reference_result(c, accumulate(c).matrix, "own");
  }
}

TEST(SparseGpt, DeadColumnsAndFallback) {
  at::Tensor hessian = at::eye(4, at::kFloat);
  hessian.index_put_({2, 2}, 0.0);
  const InverseHessian dead = invert_hessian(hessian, 0.01);
  EXPECT_TRUE(dead.factorized);
  EXPECT_TRUE(dead.dead.equal(at::tensor({0, 0, 1, 0}).to(at::kBool)));

  at::Tensor indefinite = at::eye(4, at::kFloat);
  indefinite.index_put_({1, 1}, -2.0);
  const InverseHessian fallback = invert_hessian(indefinite, 0.01);
  EXPECT_FALSE(fallback.factorized);
  EXPECT_TRUE(fallback.upper.equal(at::eye(4, at::kFloat)));
}

// preserve_sparsity_mask with N:M past the first block, where we read each block's own existing zeros
// (the reference reads the first block's): the old zeros stay, and every group of M has
// max(N, old zeros) zeros.
TEST(SparseGpt, PreservedMaskExtendsToNofMInEveryBlock) {
  at::manual_seed(11);
  at::Tensor weight = at::randn({16, 256});
  const at::Tensor old_zeros = at::rand({16, 256}).lt(0.2);
  weight.masked_fill_(old_zeros, 0.0);
  const at::Tensor x = at::randn({64, 256});
  Hessian hessian{at::zeros({256, 256}, at::kFloat), 0};
  accumulate_hessian(hessian, x, 1);
  const SparsifyOptions options{0.5, {2, 4}, 128, true};
  const at::Tensor pruned = sparsify_weight(weight, invert_hessian(hessian.matrix, 0.01), options).weight;
  EXPECT_TRUE(pruned.masked_select(old_zeros).eq(0).all().item<bool>());
  const at::Tensor zeros_per_group = pruned.eq(0).reshape({16, 64, 4}).sum(-1);
  const at::Tensor old_per_group = old_zeros.reshape({16, 64, 4}).sum(-1);
  EXPECT_TRUE(zeros_per_group.equal(at::maximum(old_per_group, at::full_like(old_per_group, 2))));
}

TEST(SparseGpt, RejectsPreservingAMaskSparserThanTheTarget) {
  at::Tensor weight = at::ones({4, 8});
  weight.index_put_({at::indexing::Slice(), at::indexing::Slice(0, 5)}, 0.0);
  const InverseHessian inverse{at::eye(8), at::zeros({8}, at::kBool), true};
  EXPECT_THROW(sparsify_weight(weight, inverse, SparsifyOptions{0.5, {}, 128, true}), std::invalid_argument);
}

}  // namespace
}  // namespace llmc::sparsegpt
