// tests/unit/quant/quantize_test.cpp - the quantization core's rules on hand-made inputs: value formats,
// E2M1 rounding, MX and global scales, zero-scale guards, g_idx, errors, and CPU-vs-CUDA consistency.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "quant/observer.h"
#include "quant/qparams.h"
#include "quant/quantize.h"
#include "quant/reference_data.h"
#include "quant/rounding.h"
#include "quant/value_format.h"
#include "recipe/presets.h"

namespace llmc::quant {
namespace {

using ::testing::HasSubstr;

recipe::QuantArgs args_from(const char* json) {
  auto args = recipe::quant_args_from_json(nlohmann::json::parse(json));
  EXPECT_TRUE(args) << (args ? "" : args.error().message);
  return args ? *args : recipe::QuantArgs{};
}

// A preset's finalized weight args (MX presets keep zp_dtype uint8).
recipe::QuantArgs find_preset_weights(std::string_view name) { return *recipe::find_preset(name)->weights; }

at::Tensor values(std::initializer_list<float> list, at::ScalarType dtype = at::kFloat) {
  return at::tensor(std::vector<float>(list)).to(dtype);
}

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor f = t.to(at::kFloat).contiguous();
  return {f.data_ptr<float>(), f.data_ptr<float>() + f.numel()};
}

TEST(quantValueFormat, Table) {
  auto int4 = value_format(args_from(R"({"num_bits": 4})"));
  ASSERT_TRUE(int4);
  EXPECT_EQ(int4->qmin, -8);
  EXPECT_EQ(int4->qmax, 7);
  EXPECT_EQ(int4->storage_dtype, at::kChar);
  EXPECT_EQ(value_format(args_from(R"({"num_bits": 12})"))->storage_dtype, at::kShort);
  EXPECT_EQ(value_format(args_from(R"({"num_bits": 20})"))->storage_dtype, at::kInt);
  auto fp8 = value_format(args_from(R"({"type": "float"})"));
  ASSERT_TRUE(fp8);
  EXPECT_EQ(fp8->qmax, 448);
  EXPECT_EQ(fp8->storage_dtype, at::kFloat8_e4m3fn);
  auto fp4 = value_format(args_from(R"({"type": "float", "num_bits": 4, "group_size": 16})"));
  ASSERT_TRUE(fp4);
  EXPECT_EQ(fp4->qmin, -6);
  EXPECT_FALSE(fp4->storage_dtype);
  EXPECT_TRUE(is_mx(find_preset_weights("MXFP4A16")));
  EXPECT_FALSE(is_mx(find_preset_weights("NVFP4A16")));
}

TEST(quantRounding, Fp4Thresholds) {
  const at::Tensor x = values({0.25f, 0.2501f, 0.75f, 1.25f, 1.2501f, 1.75f, 2.5f, 2.5001f, 3.5f, 5.0f, 5.001f, -0.1f,
                               -0.75f, 0.0f});
  EXPECT_EQ(to_vector(cast_to_fp4(x)),
            (std::vector<float>{0, 0.5f, 1, 1, 1.5f, 2, 2, 3, 4, 4, 6, -0.0f, -1, 0}));
  EXPECT_TRUE(std::signbit(to_vector(cast_to_fp4(x))[11]));  // a negative that rounds to zero stays -0.0
}

TEST(quantQParams, MxScalesArePowersOfTwo) {
  const recipe::QuantArgs args = find_preset_weights("MXFP4A16");
  // E = 127 + floor(log2(pow2(amax))) - 2: 0.3 -> 0.25 -> 123 (1/16); 0.45 rounds up to 0.5 -> 124 (1/8).
  const at::Tensor amax = values({0.3f, 0.45f, 0.0f});
  auto qparams = calculate_qparams(MinMax{-amax, amax}, args);
  ASSERT_TRUE(qparams) << qparams.error().message;
  EXPECT_EQ(to_vector(qparams->scale), (std::vector<float>{1.0f / 16, 1.0f / 8, std::ldexp(1.0f, -127)}));
  EXPECT_EQ(qparams->zero_point->scalar_type(), at::kByte);
  // In float16, 2^-127 underflows to 0, which the zero-scale guard turns into 1 (the uint8 scale_dtype's eps).
  const at::Tensor zero = at::zeros({1}, at::kHalf);
  auto half = calculate_qparams(MinMax{zero, zero}, args);
  ASSERT_TRUE(half);
  EXPECT_EQ(to_vector(half->scale), (std::vector<float>{1.0f}));
}

TEST(quantQParams, ZeroScalesBecomeEps) {
  const at::Tensor zeros = at::zeros({2, 1}, at::kBFloat16);
  auto bf16 = calculate_qparams(MinMax{zeros, zeros}, args_from(R"({"num_bits": 4, "strategy": "channel"})"));
  ASSERT_TRUE(bf16);
  EXPECT_EQ(to_vector(bf16->scale), (std::vector<float>{0.0078125f, 0.0078125f}));
  auto fp8 = calculate_qparams(MinMax{zeros, zeros}, find_preset_weights("NVFP4A16"), at::ones({1}));
  ASSERT_TRUE(fp8);
  EXPECT_EQ(to_vector(fp8->scale), (std::vector<float>{0.125f, 0.125f}));
}

TEST(quantQParams, GlobalScale) {
  EXPECT_EQ(to_vector(compute_global_scale(values({0.5f, 2.0f}))), (std::vector<float>{1344.0f}));
  // amax 0 overflows 448*6/tiny to Inf and NaN stays NaN: both become 1.
  EXPECT_EQ(to_vector(compute_global_scale(at::zeros({3}))), (std::vector<float>{1.0f}));
  EXPECT_EQ(to_vector(compute_global_scale(values({NAN}))), (std::vector<float>{1.0f}));
  // bf16 statistics divide in bf16: 2688 / 0.64453125 = 4170.47 in float32, 4192 in bf16.
  const at::Tensor amax = values({0.64453125f}, at::kBFloat16);
  EXPECT_EQ(to_vector(compute_global_scale(amax)), (std::vector<float>{4192.0f}));
  const at::Tensor fused = fused_global_scale(std::vector<MinMax>{{values({-1.0f}), values({0.5f})},
                                                                  {values({-0.25f}), values({2.0f})}});
  EXPECT_EQ(to_vector(fused), (std::vector<float>{1344.0f}));
}

TEST(quantQuantize, GIdxGivesEachColumnItsGroupsQParams) {
  at::manual_seed(7);
  const recipe::QuantArgs args = args_from(R"({"num_bits": 4, "group_size": 4, "symmetric": false})");
  const at::Tensor weight = at::randn({3, 12}, at::TensorOptions().dtype(at::kBFloat16)) * 0.1;
  auto qparams = compute_weight_qparams(weight, args);
  ASSERT_TRUE(qparams);
  auto grouped = fake_quantize(weight, *qparams, args);
  ASSERT_TRUE(grouped);
  QParams with_g_idx = *qparams;
  with_g_idx.g_idx = at::arange(12, at::kInt).floor_divide(4);
  auto by_column = fake_quantize(weight, with_g_idx, args);
  ASSERT_TRUE(by_column);
  EXPECT_EQ(testing::byte_difference(*by_column, *grouped), "");

  // A permuted column order (activation ordering) takes the permuted columns' groups.
  const at::Tensor perm = at::randperm(12, at::kLong);
  with_g_idx.g_idx = with_g_idx.g_idx->index_select(0, perm);
  auto permuted = fake_quantize(weight.index_select(1, perm), with_g_idx, args);
  ASSERT_TRUE(permuted);
  EXPECT_EQ(testing::byte_difference(*permuted, grouped->index_select(1, perm)), "");
  auto q = quantize(weight.index_select(1, perm), with_g_idx, args);
  ASSERT_TRUE(q);
  auto dq = dequantize(*q, with_g_idx, args, at::kBFloat16);
  ASSERT_TRUE(dq);
  // Stored integers have no -0, so a -0 of fake_quantize (x rounding to the zero point from below) comes
  // back +0: compare values, not bytes.
  EXPECT_TRUE(at::equal(*dq, grouped->index_select(1, perm)));
}

TEST(quantQuantize, BlockPadsAndCutsBack) {
  const recipe::QuantArgs args = find_preset_weights("FP8_BLOCK");
  const at::Tensor weight = at::randn({130, 200}, at::TensorOptions().dtype(at::kBFloat16));
  auto qparams = compute_weight_qparams(weight, args);
  ASSERT_TRUE(qparams);
  EXPECT_EQ(qparams->scale.sizes(), at::IntArrayRef({2, 2}));
  auto q = quantize(weight, *qparams, args);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->sizes(), weight.sizes());
  EXPECT_EQ(q->scalar_type(), at::kFloat8_e4m3fn);
}

TEST(quantErrors, AreValues) {
  const at::Tensor weight = at::randn({4, 48});
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"num_bits": 4, "group_size": 32})")).error().message,
              HasSubstr("input width (48) divisible by group_size 32"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"type": "float", "num_bits": 4, "group_size": 16,
      "symmetric": false})")).error().message, HasSubstr("asymmetric quantization is not supported for FP4"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"observer": "maxmin"})")).error().message,
              HasSubstr("observer 'maxmin' is not supported"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"observer": "imatrix_mse", "observer_kwargs": {"grid": 0}})"))
                  .error().message, HasSubstr("grid must be > 0"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"observer": "imatrix_mse", "observer_kwargs": {"strict": 1}})"))
                  .error().message, HasSubstr("observer_kwargs.strict must be true or false"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"observer": "mse", "observer_kwargs": {"expand": 0.5}})"))
                  .error().message, HasSubstr("expand value must be at least 1.0"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"strategy": "token", "dynamic": true})")).error().message,
              HasSubstr("dynamic weights have no observer"));
  EXPECT_THAT(compute_weight_qparams(weight, args_from(R"({"num_bits": 4})"), at::ones({1})).error().message,
              HasSubstr("a global scale needs strategy tensor_group"));
  const recipe::QuantArgs group = args_from(R"({"num_bits": 4, "group_size": 16})");
  auto qparams = compute_weight_qparams(weight, group);
  ASSERT_TRUE(qparams);
  EXPECT_THAT(fake_quantize(at::randn({4, 40}), *qparams, group).error().message,
              HasSubstr("last dim (40) must be divisible by group_size 16"));
  QParams bad_g_idx = *qparams;
  bad_g_idx.g_idx = at::zeros({5}, at::kInt);
  EXPECT_THAT(fake_quantize(weight, bad_g_idx, group).error().message, HasSubstr("one group per column (48)"));
}

// imatrix_mse with strict = true raises where the reference's non-strict default falls back to uniform
// weights (the fallbacks' results are reference_test.cpp's).
TEST(quantImatrix, StrictRefusesWhatItCannotWeigh) {
  const at::Tensor weight = at::randn({4, 48});
  const recipe::QuantArgs group =
      args_from(R"({"num_bits": 4, "group_size": 16, "observer": "imatrix_mse", "observer_kwargs": {"strict": true}})");
  EXPECT_THAT(compute_weight_qparams(weight, group).error().message,
              HasSubstr("imatrix_mse: no importance data available"));
  InputImportance zeros;
  ASSERT_TRUE(zeros.add(at::zeros({2, 3, 48})));
  EXPECT_THAT(compute_weight_qparams(weight, group, std::nullopt, &zeros).error().message, HasSubstr("all zeros"));
  InputImportance narrow;
  ASSERT_TRUE(narrow.add(at::ones({3, 32})));
  EXPECT_THAT(compute_weight_qparams(weight, group, std::nullopt, &narrow).error().message,
              HasSubstr("size mismatch: expected 48, got 32"));
  EXPECT_THAT(narrow.add(at::ones({3, 48})).error().message, HasSubstr("an input of 48 channels after inputs of 32"));
  const recipe::QuantArgs tensor = args_from(R"({"observer": "imatrix_mse", "observer_kwargs": {"strict": true}})");
  EXPECT_THAT(compute_weight_qparams(weight, tensor, std::nullopt, &zeros).error().message,
              HasSubstr("the tensor strategy is not supported"));
  EXPECT_THAT(Observer::create(tensor).error().message, HasSubstr("imatrix_mse: only supported for weight observers"));
  InputImportance ones;
  ASSERT_TRUE(ones.add(at::ones({1, 5, 48})));
  EXPECT_EQ(ones.tokens, 5);
  EXPECT_TRUE(compute_weight_qparams(weight, group, std::nullopt, &ones));
}

// The reference's weight cases again with the tensors on a CUDA device: the ATen path must give the CPU
// reference's bytes. The MSE cases are left out: their error sums reduce in another order on CUDA.
TEST(quantCuda, WeightCasesMatchTheCpuReference) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto& data = testing::reference_data();
  for (const auto& item : data.cases) {
    if (item["kind"] != "weight") continue;
    const std::string name = item["name"];
    auto args = recipe::quant_args_from_json(item["args"]);
    ASSERT_TRUE(args);
    if (args->observer && args->observer->find("mse") != std::string::npos) continue;
    const at::Tensor weight = data.tensors.at(name + ".weight").cuda();
    auto qparams = compute_weight_qparams(weight, *args);
    ASSERT_TRUE(qparams) << name;
    EXPECT_EQ(testing::byte_difference(qparams->scale, data.tensors.at(name + ".scale")), "") << name;
    auto q = quantize(weight, *qparams, *args);
    ASSERT_TRUE(q) << name;
    EXPECT_EQ(testing::byte_difference(*q, data.tensors.at(name + ".quantized")), "") << name;
    auto fake = fake_quantize(weight, *qparams, *args);
    ASSERT_TRUE(fake) << name;
    EXPECT_EQ(testing::byte_difference(*fake, data.tensors.at(name + ".fake")), "") << name;
  }
}

}  // namespace
}  // namespace llmc::quant
