// tests/unit/plugins_smoothing/smoothing_test.cpp - the smoothquant plugin's math (plugins/smoothquant/
// smoothing.h) against LLM Compressor's SmoothQuantModifier run on the same modules and batches
// (make_smoothing_cases.py): a norm or a Linear (with bias) before three q/k/v-like Linears, alpha 0.5 and
// 0.8, log equalization, bfloat16, float16 and float32, with a weight column of zeros (s = range) and a
// constant activation channel (range 0, clamped to 1e-5).
// Tolerance: none. The range, scales and fold are the same ATen ops in the same dtypes as the reference's.
// The reference's scales are recorded before its clamp (torch.maximum with a float32 [1e-5] tensor); that
// one op is redone here to compare them.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "plugins_smoothing/smoothing_cases.h"
#include "smoothquant/smoothing.h"

namespace llmc::smoothing {
namespace {

using smoothing_test::byte_difference;
using smoothing_test::reference;

#define EXPECT_SAME(actual, name) EXPECT_EQ(byte_difference((actual), reference(name)), "") << (name)

TEST(SmoothQuant, MatchesTheReferenceModifier) {
  for (const auto& item : smoothing_test::cases_of("smoothquant")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    ChannelRange range;
    for (int b = 0; b < item["batches"].get<int>(); ++b) range.update(reference(name + ".act" + std::to_string(b)));
    std::vector<at::Tensor> balance;
    for (const char* module : {"q", "k", "v"}) balance.push_back(reference(name + "." + module + ".weight").clone());
    const Algorithm algorithm = item["algorithm"] == "log_equalization" ? Algorithm::log_equalization : Algorithm::smoothquant;
    const at::Tensor scales = smoothing_scales(range.dynamic_range(), balance, algorithm, item["alpha"].get<double>());

    const at::Tensor& raw = reference(name + ".scales_raw");
    const at::Tensor clamped = at::maximum(raw, at::full({1}, 1e-5, at::kFloat));
    EXPECT_EQ(byte_difference(scales, clamped), "");
    if (!item["smooth_bias"].get<bool>()) {  // a norm passes the constant input channel through
      EXPECT_EQ(scales[9].item<float>(), 1e-5f) << "the constant channel's scale is clamped";
    }

    const at::Tensor smooth = reference(name + ".smooth.weight").clone();
    std::optional<at::Tensor> bias;
    if (item["smooth_bias"].get<bool>()) bias = reference(name + ".smooth.bias").clone();
    fold_scales(scales, balance, smooth, bias);
    EXPECT_SAME(balance[0], name + ".final.q.weight");
    EXPECT_SAME(balance[1], name + ".final.k.weight");
    EXPECT_SAME(balance[2], name + ".final.v.weight");
    EXPECT_SAME(smooth, name + ".final.smooth.weight");
    if (bias) {
      EXPECT_SAME(*bias, name + ".final.smooth.bias");
    }
  }
}

TEST(SmoothQuant, ZeroWeightColumnsTakeTheActivationRange) {
  const at::Tensor range = at::tensor(std::vector<float>{4.0f, 9.0f});
  const std::vector<at::Tensor> balance{at::tensor(std::vector<float>{0.0f, 0.5f, 0.0f, -1.0f}).view({2, 2})};
  const at::Tensor scales = smoothing_scales(range, balance, Algorithm::smoothquant, 0.5);
  EXPECT_EQ(scales[0].item<float>(), 4.0f);                       // w == 0: s = range
  EXPECT_FLOAT_EQ(scales[1].item<float>(), 3.0f / std::sqrt(2.0f));  // sqrt(9) / sqrt(2 * 1)
}

}  // namespace
}  // namespace llmc::smoothing
