// tests/unit/quant/weight_kernels_test.cpp - the one-pass weight kernels against the torch ops they replace:
// LLM Compressor's amin / amax over the flattened weight, and compressed-tensors' _quantize spelled out.
// Tolerance: none. Every value must match bit for bit, ties and clamped values included, since the
// checkpoint's bytes must equal the reference's.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

#include "quant/observer.h"
#include "quant/quantize.h"
#include "quant/value_format.h"
#include "quant/weight_kernels.h"

namespace llmc::quant {
namespace {

recipe::QuantArgs args_from(const char* json) {
  auto args = recipe::quant_args_from_json(nlohmann::json::parse(json));
  EXPECT_TRUE(args) << (args ? "" : args.error().message);
  return args ? *args : recipe::QuantArgs{};
}

// CT forward.py _quantize with its qparams broadcast to x's shape: divide, add the zero point in x's dtype,
// clamp, round (int) or cast (float8), back to x's dtype, then the storage dtype.
at::Tensor reference_quantize(const at::Tensor& x, const QParams& qparams, const ValueFormat& format,
                              int64_t group_width) {
  auto broadcast = [&](const at::Tensor& t) {
    return t.numel() == 1 ? t.reshape({1, 1}) : t.repeat_interleave(group_width, 1);
  };
  at::Tensor scaled = x / broadcast(qparams.scale);
  if (qparams.zero_point) scaled.add_(broadcast(*qparams.zero_point).to(x.scalar_type()));
  const at::Tensor clamped =
      at::clamp(scaled, at::scalar_tensor(format.qmin, at::kFloat), at::scalar_tensor(format.qmax, at::kFloat));
  const at::Tensor rounded =
      format.rounding == Rounding::half_to_even ? at::round(clamped) : clamped.to(at::kFloat8_e4m3fn);
  return rounded.to(x.scalar_type()).to(*format.storage_dtype);
}

// Random weights, then every eighth value moved onto an exact tie (k + 1/2) * 2^-6 of a power-of-two scale,
// and some far outside the range.
at::Tensor weight_with_ties(int64_t rows, int64_t cols, at::ScalarType dtype, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor w = at::randn({rows, cols}) * 0.05;
  const at::Tensor ties = (at::randint(-20, 20, {rows, cols}).to(at::kFloat) + 0.5) / 64.0;
  const at::Tensor every_eighth = (at::arange(rows * cols) % 8 == 0).reshape({rows, cols});
  w = at::where(every_eighth, ties, w);
  w.index_put_({0, 0}, 3.0);  // clamped
  w.index_put_({1, 1}, -0.0);
  return w.to(dtype);
}

struct Case {
  const char* args;
  int64_t group_width;  // 0: one scale for the tensor
};

void expect_fused_equals_reference(const Case& c, at::ScalarType dtype, at::ScalarType scale_dtype, bool powers_of_two) {
  const recipe::QuantArgs args = args_from(c.args);
  const auto format = value_format(args);
  ASSERT_TRUE(format);
  const at::Tensor x = weight_with_ties(67, 256, dtype, 7);
  auto qparams = compute_weight_qparams(x, args);
  ASSERT_TRUE(qparams) << qparams.error().message;
  if (powers_of_two) qparams->scale = at::full_like(qparams->scale, 1.0 / 64);  // x / scale lands on the ties
  qparams->scale = qparams->scale.to(scale_dtype);
  const auto fused = fused_quantize(x, *qparams, args, *format);
  ASSERT_TRUE(fused) << c.args << " should take the fused path";
  const at::Tensor expected = reference_quantize(x, *qparams, *format, c.group_width == 0 ? 256 : c.group_width);
  ASSERT_EQ(fused->scalar_type(), expected.scalar_type());
  const at::Tensor as_bytes = fused->view(at::kByte), expected_bytes = expected.view(at::kByte);
  EXPECT_TRUE(at::equal(as_bytes, expected_bytes))
      << c.args << " in " << c10::toString(dtype) << " with " << c10::toString(scale_dtype) << " scales: "
      << at::ne(as_bytes, expected_bytes).sum().item<int64_t>() << " values differ";
}

// The observer's torch path: flatten as LLM Compressor does, then amin / amax over the sets.
MinMax reference_min_max(const at::Tensor& weight, const recipe::QuantArgs& args) {
  const at::Tensor observed = *flatten_for_calibration(weight, args, ObservedTensor::weight);
  return {at::amin(observed, {0, -1}), at::amax(observed, {0, -1})};
}

TEST(WeightKernelsTest, MinMaxEqualsTheObserversReductions) {
  for (const char* json : {R"({"num_bits": 4, "strategy": "group", "group_size": 64})",
                           R"({"num_bits": 4, "strategy": "group", "group_size": 20})",  // partial chunks
                           R"({"num_bits": 8, "strategy": "channel"})", R"({"num_bits": 8, "strategy": "tensor"})"}) {
    const recipe::QuantArgs args = args_from(json);
    for (at::ScalarType dtype : {at::kBFloat16, at::kHalf, at::kFloat}) {
      at::Tensor weight = weight_with_ties(67, 260 - 260 % (args.group_size ? *args.group_size : 1), dtype, 5);
      weight.index_put_({3, 5}, std::numeric_limits<float>::quiet_NaN());  // propagates to its set
      const auto fused = fused_weight_min_max(weight, args);
      ASSERT_TRUE(fused) << json;
      const MinMax expected = reference_min_max(weight, args);
      for (auto [got, want] : {std::pair{fused->min_vals, expected.min_vals}, {fused->max_vals, expected.max_vals}}) {
        ASSERT_EQ(got.sizes(), want.sizes()) << json;
        ASSERT_EQ(got.scalar_type(), want.scalar_type()) << json;
        EXPECT_TRUE(at::equal(at::isnan(got), at::isnan(want))) << json << " " << c10::toString(dtype);
        EXPECT_TRUE(at::equal(at::nan_to_num(got), at::nan_to_num(want))) << json << " " << c10::toString(dtype);
      }
    }
  }
  const recipe::QuantArgs block = args_from(R"({"num_bits": 8, "strategy": "block", "block_structure": [4, 64]})");
  EXPECT_FALSE(fused_weight_min_max(at::ones({8, 128}), block));
}

TEST(WeightKernelsTest, EqualsTheOpByOpQuantizationBitForBit) {
  const Case cases[] = {
      {R"({"num_bits": 4, "strategy": "group", "group_size": 64})", 64},
      {R"({"num_bits": 4, "symmetric": false, "strategy": "group", "group_size": 32})", 32},
      {R"({"num_bits": 8, "strategy": "channel"})", 256},
      {R"({"num_bits": 3, "symmetric": false, "strategy": "channel"})", 256},
      {R"({"num_bits": 8, "strategy": "tensor"})", 0},
      {R"({"num_bits": 8, "type": "float", "strategy": "channel"})", 256},
      {R"({"num_bits": 8, "type": "float", "strategy": "tensor"})", 0},
  };
  for (const Case& c : cases) {
    for (at::ScalarType dtype : {at::kBFloat16, at::kHalf, at::kFloat}) {
      for (bool ties : {false, true}) {
        expect_fused_equals_reference(c, dtype, dtype, ties);
        expect_fused_equals_reference(c, dtype, at::kFloat, ties);  // promoted: computed in float32
      }
    }
    expect_fused_equals_reference(c, at::kHalf, at::kBFloat16, false);  // float16 with bfloat16: float32
  }
}

// Every bfloat16 value, scale 1: the rounding and the float8 cast of each, Inf and NaN included.
TEST(WeightKernelsTest, RoundsEveryBfloat16ValueAsTorch) {
  const at::Tensor every = at::arange(0, 1 << 16, at::kInt).to(at::kShort).view(at::kBFloat16).reshape({256, 256});
  for (const char* json : {R"({"num_bits": 8, "type": "float", "strategy": "tensor"})",
                           R"({"num_bits": 8, "strategy": "tensor"})"}) {
    const recipe::QuantArgs args = args_from(json);
    const ValueFormat format = *value_format(args);
    // a NaN's conversion to an integer is undefined; the integer case gets zeros in their place
    const at::Tensor x = format.rounding == Rounding::half_to_even ? at::nan_to_num(every, 0.0) : every;
    const QParams qparams{at::ones({1}, at::kBFloat16), at::zeros({1}, at::kChar), std::nullopt, std::nullopt};
    const auto fused = fused_quantize(x, qparams, args, format);
    ASSERT_TRUE(fused);
    const at::Tensor expected = reference_quantize(x, qparams, format, 256);
    EXPECT_TRUE(at::equal(fused->view(at::kByte), expected.view(at::kByte)))
        << json << ": " << at::ne(fused->view(at::kByte), expected.view(at::kByte)).sum().item<int64_t>() << " differ";
  }
}

TEST(WeightKernelsTest, QuantizeTakesItAndSplitsRowsAcrossThreadsAlike) {
  const recipe::QuantArgs args = args_from(R"({"num_bits": 4, "strategy": "group", "group_size": 128})");
  const at::Tensor x = weight_with_ties(2048, 1024, at::kBFloat16, 11);
  auto qparams = compute_weight_qparams(x, args);
  ASSERT_TRUE(qparams);
  auto values = quantize(x, *qparams, args);
  ASSERT_TRUE(values);
  EXPECT_TRUE(at::equal(*values, reference_quantize(x, *qparams, *value_format(args), 128)));
}

TEST(WeightKernelsTest, DeclinesWhatItDoesNotCompute) {
  const recipe::QuantArgs int4 = args_from(R"({"num_bits": 4, "strategy": "group", "group_size": 64})");
  const at::Tensor x = weight_with_ties(8, 128, at::kBFloat16, 3);
  auto qparams = compute_weight_qparams(x, int4);
  ASSERT_TRUE(qparams);
  const ValueFormat format = *value_format(int4);
  EXPECT_TRUE(fused_quantize(x, *qparams, int4, format));
  EXPECT_FALSE(fused_quantize(x.t().contiguous().t(), *qparams, int4, format));  // not contiguous
  EXPECT_FALSE(fused_quantize(x.unsqueeze(0), *qparams, int4, format));           // 3-D
  QParams with_g_idx = *qparams;
  with_g_idx.g_idx = at::arange(128) / 64;
  EXPECT_FALSE(fused_quantize(x, with_g_idx, int4, format));
  QParams misshaped = *qparams;
  misshaped.scale = qparams->scale.reshape({-1});
  EXPECT_FALSE(fused_quantize(x, misshaped, int4, format));
  const recipe::QuantArgs int12 = args_from(R"({"num_bits": 12, "strategy": "channel"})");
  EXPECT_FALSE(fused_quantize(x, *compute_weight_qparams(x, int12), int12, *value_format(int12)));
  const recipe::QuantArgs block = args_from(R"({"num_bits": 8, "strategy": "block", "block_structure": [4, 64]})");
  EXPECT_FALSE(fused_quantize(x, *compute_weight_qparams(x, block), block, *value_format(block)));
  const recipe::QuantArgs fp4 = args_from(R"({"num_bits": 4, "type": "float", "strategy": "group", "group_size": 16})");
  EXPECT_FALSE(fused_quantize(x, *compute_weight_qparams(x, fp4), fp4, *value_format(fp4)));
}

}  // namespace
}  // namespace llmc::quant
