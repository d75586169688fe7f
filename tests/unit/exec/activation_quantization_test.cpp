// tests/unit/exec/activation_quantization_test.cpp - what the runner does to a quantized Linear's activations:
// which modules carry activation args, what the tap sees, static qparams, and errors that name the module.
// (Logits against transformers: parity_test.cpp.)
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "exec/exec_test_support.h"
#include "exec/linear.h"
#include "exec/model_runner.h"
#include "quant/quantize.h"

namespace llmc::exec {
namespace {

recipe::QuantArgs int8_args(recipe::Strategy strategy, recipe::Dynamic dynamic) {
  recipe::QuantArgs args;
  args.strategy = strategy;
  args.dynamic = dynamic;
  args.zp_dtype = "torch.int8";
  return args;
}

TEST(ActivationQuantization, LoadsTheSchemesInputArgsUnlessWeightOnly) {
  for (const bool quantize : {true, false}) {
    auto runner = ModelRunner::open(testing::fixture_dir() / "fp8_dynamic", {.quantize_activations = quantize});
    ASSERT_TRUE(runner) << runner.error().message;
    auto layer = (*runner)->load_layer(1);
    ASSERT_TRUE(layer) << layer.error().message;
    const LayerActivationQuantization& activations = layer->activation_quantization();
    if (!quantize) {
      EXPECT_TRUE(activations.empty());
      continue;
    }
    ASSERT_EQ(activations.size(), layer->linear_modules().size());
    for (const auto& module : layer->linear_modules()) {
      const ActivationQuantization& quantization = activations.at(module);
      ASSERT_TRUE(quantization.input) << module;
      EXPECT_FALSE(quantization.output) << module;
      EXPECT_EQ(quantization.input->args.type, recipe::QuantType::float_) << module;
      EXPECT_EQ(quantization.input->args.strategy, recipe::Strategy::token) << module;
      EXPECT_EQ(quantization.input->args.dynamic, recipe::Dynamic::on) << module;
    }
  }
}

// The tap gets the Linear's input before fake-quantization; the output is the matmul of the quantized input.
TEST(ActivationQuantization, TapSeesTheInputBeforeFakeQuantization) {
  const auto dir = testing::fixture_dir() / "fp8_dynamic";
  const auto reference = testing::read_tensors(dir / "reference.safetensors");
  auto runner = ModelRunner::open(dir);
  ASSERT_TRUE(runner) << runner.error().message;
  const std::string module = "model.layers.1.mlp.down_proj";
  at::Tensor input, output;
  StreamHooks hooks;
  hooks.tap = [&](std::string_view name, const at::Tensor& x, const at::Tensor& y) {
    if (name != module) return;
    input = x.clone();
    output = y.clone();
  };
  const Status status = (*runner)->run(std::vector<Batch>{{reference.at("ids_full"), reference.at("mask_full")}},
                                       [](size_t, const at::Tensor&) { return Status::ok(); }, hooks);
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_TRUE(input.defined());
  auto layer = (*runner)->load_layer(1);
  ASSERT_TRUE(layer) << layer.error().message;
  auto quantized = fake_quantize_activation(*layer->activation_quantization().at(module).input, input);
  ASSERT_TRUE(quantized) << quantized.error().message;
  EXPECT_GT((*quantized - input).abs().max().item<double>(), 0) << "the tap got an already quantized input";
  EXPECT_TRUE(at::equal(output, at::linear(*quantized, layer->weights().at(module + ".weight"))));
}

// A static scheme whose checkpoint lacks the scale: fp8_static with its input args also set as output args
// (no output_scale is stored).
TEST(ActivationQuantization, MissingStaticScaleNamesTheTensor) {
  namespace fs = std::filesystem;
  const fs::path source = testing::fixture_dir() / "fp8_static";
  const fs::path dir = fs::path(::testing::TempDir()) / "fp8_static_output_args";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* file : {"model.safetensors", "config.json"}) fs::copy_file(source / file, dir / file);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  for (auto& [name, group] : config["quantization_config"]["config_groups"].items())
    group["output_activations"] = group["input_activations"];
  std::ofstream(dir / "config.json") << config.dump();

  auto runner = ModelRunner::open(dir);
  ASSERT_TRUE(runner) << runner.error().message;
  auto layer = (*runner)->load_layer(0);
  ASSERT_FALSE(layer);
  EXPECT_THAT(layer.error().message,
              ::testing::HasSubstr("module 'model.layers.0.self_attn.q_proj': output_activations are static but tensor "
                                   "'model.layers.0.self_attn.q_proj.output_scale' is missing"));
  auto weight_only = ModelRunner::open(dir, {.quantize_activations = false});
  ASSERT_TRUE(weight_only) << weight_only.error().message;
  EXPECT_TRUE((*weight_only)->load_layer(0)) << "weight-only runs read no activation qparams";
  fs::remove_all(dir);
}

// Static args use the stored scale (the value's own range plays no part).
TEST(ActivationQuantization, StaticArgsUseTheStoredScale) {
  const QuantizedActivation activation{int8_args(recipe::Strategy::tensor, recipe::Dynamic::off),
                                       {.scale = at::full({1}, 0.05), .zero_point = at::zeros({1}, at::kChar)}};
  const at::Tensor x = at::randn({2, 3, 8}) * 4;
  auto quantized = fake_quantize_activation(activation, x);
  ASSERT_TRUE(quantized) << quantized.error().message;
  EXPECT_TRUE(at::allclose(*quantized, at::round(x / 0.05).clamp(-128, 127) * 0.05, 0, 1e-6));

  const QuantizedActivation unscaled{int8_args(recipe::Strategy::tensor, recipe::Dynamic::off), {}};
  auto refused = fake_quantize_activation(unscaled, x);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("static quantization without a stored scale"));
}

TEST(ActivationQuantization, EmptyValuePassesUnchanged) {
  const QuantizedActivation activation{int8_args(recipe::Strategy::token, recipe::Dynamic::on), {}};
  auto quantized = fake_quantize_activation(activation, at::empty({0, 8}));
  ASSERT_TRUE(quantized) << quantized.error().message;
  EXPECT_EQ(quantized->numel(), 0);
}

TEST(ActivationQuantization, FailuresNameTheModule) {
  recipe::QuantArgs args = int8_args(recipe::Strategy::group, recipe::Dynamic::on);
  args.group_size = 16;
  const ActivationQuantization activations{QuantizedActivation{args, {}}, std::nullopt};
  try {
    run_linear("model.layers.0.mlp.down_proj", at::randn({1, 2, 24}), at::randn({4, 24}), at::Tensor(), &activations,
               nullptr, MatmulMath::dtype);
    ADD_FAILURE() << "a group size that does not divide the input was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("module 'model.layers.0.mlp.down_proj': input activations:"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("group_size 16"));
  }
}

}  // namespace
}  // namespace llmc::exec
