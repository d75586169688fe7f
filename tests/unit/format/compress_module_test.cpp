// tests/unit/format/compress_module_test.cpp - compress_module beyond the reference checkpoints: static and
// tensor_group activation qparams, 3-D MoE weights, and errors that name the module.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>

#include "format/format.h"
#include "format/int_packing.h"
#include "format/quantized_module.h"

namespace llmc::format {
namespace {

recipe::QuantArgs args(const nlohmann::json& json) {
  auto parsed = recipe::quant_args_from_json(json);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

std::map<std::string, at::Tensor> by_name(const std::vector<NamedTensor>& tensors) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : tensors) out.emplace(name, tensor);
  return out;
}

std::string error_of(const QuantizedModule& module) {
  auto tensors = compress_module(module);
  EXPECT_FALSE(tensors) << module.name;
  return tensors ? "" : tensors.error().message;
}

QuantizedModule int4_group(at::Tensor weight, int64_t group_size, bool symmetric) {
  QuantizedModule module;
  module.name = "model.layers.0.mlp.down_proj";
  module.format = Format::pack_quantized;
  module.scheme.weights = args({{"num_bits", 4}, {"group_size", group_size}, {"symmetric", symmetric}});
  module.weight = std::move(weight);
  const int64_t groups = module.weight.size(-1) / group_size;
  auto shape = module.weight.sizes().vec();
  shape.back() = groups;
  module.weight_qparams.scale = at::full(shape, 0.01, at::kFloat);
  if (!symmetric) module.weight_qparams.zero_point = at::randint(-8, 8, shape, at::kChar);
  return module;
}

TEST(CompressModule, NvFp4WithStaticActivationGlobalScale) {
  QuantizedModule module;
  module.name = "model.layers.0.self_attn.q_proj";
  module.format = Format::nvfp4_pack_quantized;
  module.scheme.weights = args({{"num_bits", 4}, {"type", "float"}, {"strategy", "tensor_group"}, {"group_size", 16},
                                {"scale_dtype", "torch.float8_e4m3fn"}});
  module.scheme.input_activations = args({{"num_bits", 4}, {"type", "float"}, {"strategy", "tensor_group"},
                                          {"group_size", 16}, {"dynamic", "local"}});
  module.weight = at::tensor({0.5f, -1.0f, 6.0f, -0.0f}).repeat({8, 8});  // [8, 32]
  module.weight_qparams.scale = at::full({8, 2}, 0.5, at::kFloat);
  module.weight_qparams.global_scale = at::tensor({448.0 * 6 / 3.0}, at::kDouble);
  module.input_qparams.global_scale = at::tensor({100.0f});
  auto tensors = compress_module(module);
  ASSERT_TRUE(tensors) << tensors.error().message;
  const auto named = by_name(*tensors);
  ASSERT_EQ(named.size(), 4u);
  const std::string prefix = module.name + ".";
  EXPECT_EQ(named.at(prefix + "weight_packed").sizes(), at::IntArrayRef({8, 16}));
  EXPECT_EQ(named.at(prefix + "weight_packed")[0][0].item<uint8_t>(), 0xA1);
  EXPECT_EQ(named.at(prefix + "weight_packed")[0][1].item<uint8_t>(), 0x87);
  EXPECT_EQ(named.at(prefix + "weight_scale").scalar_type(), at::kFloat8_e4m3fn);
  EXPECT_EQ(named.at(prefix + "weight_global_scale").scalar_type(), at::kFloat);
  EXPECT_EQ(named.at(prefix + "input_global_scale").sizes(), at::IntArrayRef({1}));
}

TEST(CompressModule, StaticAsymmetricInt8Input) {
  QuantizedModule module;
  module.name = "model.layers.0.mlp.up_proj";
  module.format = Format::int_quantized;
  module.dtype = at::kHalf;
  module.scheme.weights = args({{"num_bits", 8}, {"strategy", "channel"}});
  module.scheme.input_activations = args({{"num_bits", 8}, {"strategy", "tensor"}, {"symmetric", false}});
  module.weight = at::randint(-128, 128, {4, 8}, at::kChar);
  module.weight_qparams.scale = at::ones({4, 1});
  module.weight_qparams.zero_point = at::zeros({4, 1}, at::kChar);  // symmetric: dropped, as CT does
  module.input_qparams.scale = at::ones({1});
  module.input_qparams.zero_point = at::tensor({3}, at::kChar);
  auto tensors = compress_module(module);
  ASSERT_TRUE(tensors) << tensors.error().message;
  const auto named = by_name(*tensors);
  const std::string prefix = module.name + ".";
  EXPECT_EQ(named.size(), 4u);
  EXPECT_FALSE(named.contains(prefix + "weight_zero_point"));
  EXPECT_EQ(named.at(prefix + "weight_scale").scalar_type(), at::kHalf);
  EXPECT_EQ(named.at(prefix + "input_scale").scalar_type(), at::kHalf);
  EXPECT_EQ(named.at(prefix + "input_zero_point").scalar_type(), at::kChar);
}

TEST(CompressModule, MoeExpertsPackPerSlice) {
  QuantizedModule module = int4_group(at::randint(-8, 8, {2, 64, 32}, at::kChar), 16, /*symmetric=*/false);
  auto tensors = compress_module(module);
  ASSERT_TRUE(tensors) << tensors.error().message;
  const auto named = by_name(*tensors);
  const std::string prefix = module.name + ".";
  EXPECT_EQ(named.at(prefix + "weight_packed").sizes(), at::IntArrayRef({2, 64, 4}));
  EXPECT_TRUE(at::equal(named.at(prefix + "weight_shape"), at::tensor({2, 64, 32}, at::kLong)));
  const at::Tensor& zero_point = named.at(prefix + "weight_zero_point");
  EXPECT_EQ(zero_point.sizes(), at::IntArrayRef({2, 8, 2}));
  EXPECT_TRUE(at::equal(zero_point[1], *pack_int32(module.weight_qparams.zero_point[1], 4, PackDim::rows)));

  const TensorLookup lookup = [&](std::string_view local) -> const at::Tensor* {
    const auto found = named.find(prefix + std::string(local));
    return found == named.end() ? nullptr : &found->second;
  };
  auto read = read_module(module.name, module.format, module.scheme, lookup, at::kFloat);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(at::equal(read->weight, module.weight));
  EXPECT_TRUE(at::equal(read->weight_qparams.zero_point, module.weight_qparams.zero_point));
}

TEST(CompressModule, ErrorsNameTheModule) {
  const std::string name = "model.layers.0.mlp.down_proj";
  auto expect_error = [&](const QuantizedModule& module, std::string_view what) {
    const std::string message = error_of(module);
    EXPECT_NE(message.find("module '" + module.name + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  QuantizedModule bad_scale = int4_group(at::zeros({8, 64}, at::kChar), 32, true);
  bad_scale.weight_qparams.scale = at::ones({8, 3});
  expect_error(bad_scale, "weight_scale has shape [8, 3], expected [8, 2]");

  QuantizedModule one_dim = int4_group(at::zeros({8, 64}, at::kChar), 32, true);
  one_dim.weight = at::zeros({64}, at::kChar);
  expect_error(one_dim, "must be [out, in] or [experts, out, in], got [64]");

  QuantizedModule out_of_range = int4_group(at::full({8, 64}, 9, at::kChar), 32, true);
  expect_error(out_of_range, "value 9 does not fit 4 bits");

  QuantizedModule missing_zp = int4_group(at::zeros({8, 64}, at::kChar), 32, false);
  missing_zp.weight_qparams.zero_point = at::Tensor();
  expect_error(missing_zp, "asymmetric weights need weight_zero_point");

  QuantizedModule wrong_format = int4_group(at::zeros({8, 64}, at::kChar), 32, true);
  wrong_format.format = Format::float_quantized;
  expect_error(wrong_format, "format 'float-quantized' cannot store int 4-bit group weights");

  QuantizedModule float_values = int4_group(at::zeros({8, 64}), 32, true);
  expect_error(float_values, "pack-quantized needs int8 weight values");

  QuantizedModule odd;
  odd.name = name;
  odd.format = Format::mxfp4_pack_quantized;
  odd.scheme.weights = args({{"num_bits", 4}, {"type", "float"}, {"group_size", 32}, {"scale_dtype", "torch.uint8"}});
  odd.weight = at::zeros({4, 33});
  odd.weight_qparams.scale = at::ones({4, 2});
  expect_error(odd, "in_features 33 is odd");

  QuantizedModule off_grid = odd;
  off_grid.weight = at::full({4, 32}, 0.7f);
  off_grid.weight_qparams.scale = at::ones({4, 1});
  expect_error(off_grid, "is not an E2M1 value");

  QuantizedModule unexpected = int4_group(at::zeros({8, 64}, at::kChar), 32, true);
  unexpected.input_qparams.scale = at::ones({1});
  expect_error(unexpected, "input qparams given, but the scheme stores none for unquantized activations");

  QuantizedModule no_global = odd;
  no_global.format = Format::nvfp4_pack_quantized;
  no_global.scheme.weights = args({{"num_bits", 4}, {"type", "float"}, {"strategy", "tensor_group"}, {"group_size", 16}});
  no_global.weight = at::zeros({4, 32});
  no_global.weight_qparams.scale = at::ones({4, 2});
  expect_error(no_global, "strategy tensor_group needs weight_global_scale");

  auto unknown = parse_format("int4-quantized");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown compressed-tensors format 'int4-quantized'; known: naive-quantized"),
            std::string::npos);
  EXPECT_FALSE(parse_format("dense"));
}

TEST(ReadModule, MissingTensorIsNamed) {
  recipe::SchemeArgs scheme;
  scheme.weights = args({{"num_bits", 4}, {"group_size", 32}});
  const TensorLookup nothing = [](std::string_view) -> const at::Tensor* { return nullptr; };
  auto read = read_module("model.layers.3.mlp.up_proj", Format::pack_quantized, scheme, nothing, at::kBFloat16);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("tensor 'model.layers.3.mlp.up_proj.weight_packed' is missing"),
            std::string::npos)
      << read.error().message;
}

}  // namespace
}  // namespace llmc::format
