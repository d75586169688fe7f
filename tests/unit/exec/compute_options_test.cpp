// tests/unit/exec/compute_options_test.cpp - the runner in the checkpoint's dtype and on a CUDA device.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "exec/exec_test_support.h"
#include "exec/model_runner.h"

namespace llmc::exec {
namespace {

// Max |ours - transformers' fp32 logits| / max(1, max |transformers|) over the tokens of the "left" batch.
double relative_error(const std::string& name, ComputeOptions options, at::ScalarType expected_dtype) {
  const auto dir = testing::fixture_dir() / name;
  const auto reference = testing::read_tensors(dir / "reference.safetensors");
  auto runner = ModelRunner::open(dir, options);
  EXPECT_TRUE(runner) << runner.error().message;
  if (!runner) return 1e9;
  at::Tensor logits;
  const Status status = (*runner)->run(std::vector<Batch>{{reference.at("ids_left"), reference.at("mask_left")}},
                                       [&](size_t, const at::Tensor& value) {
                                         EXPECT_EQ(value.scalar_type(), expected_dtype);
                                         EXPECT_EQ(value.device(), options.device);
                                         logits = value.to(at::kCPU, at::kFloat);
                                         return Status::ok();
                                       });
  EXPECT_TRUE(status) << status.error().message;
  if (!status) return 1e9;
  const at::Tensor expected = reference.at("logits_left");
  const at::Tensor tokens = reference.at("mask_left").ne(0);
  const double diff = (logits - expected).abs().amax(-1).masked_select(tokens).max().item<double>();
  return diff / std::max(1.0, expected.abs().max().item<double>());
}

// bf16 compute rounds every op's result to 8 significant bits (relative 2^-8 = 0.4%); over two layers and
// the head the logits stay within a few percent of the fp32 ones (observed 0.9%), where a wrong op would be
// off by O(1).
TEST(ComputeOptions, RunsInTheCheckpointDtype) {
  const auto dir = testing::fixture_dir() / "qwen3_bf16";
  auto checkpoint = model::Checkpoint::open(dir);
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  auto dtype = checkpoint_dtype(*checkpoint);
  ASSERT_TRUE(dtype) << dtype.error().message;
  ASSERT_EQ(*dtype, at::kBFloat16);
  const double error = relative_error("qwen3_bf16", {.dtype = *dtype, .device = at::kCPU}, at::kBFloat16);
  std::cout << "[ bf16 ] qwen3_bf16: max |logit diff| / scale = " << error << "\n";
  EXPECT_LE(error, 0.05);
}

// The logits of one batch run through the checkpoint in `dir` (undefined, with a failure recorded, on an error).
at::Tensor logits_of(const std::filesystem::path& dir, ComputeOptions options, const Batch& batch) {
  auto runner = ModelRunner::open(dir, options);
  EXPECT_TRUE(runner) << runner.error().message;
  if (!runner) return at::Tensor();
  at::Tensor logits;
  const Status status = (*runner)->run(std::vector<Batch>{batch}, [&](size_t, const at::Tensor& value) {
    logits = value;
    return Status::ok();
  });
  EXPECT_TRUE(status) << status.error().message;
  return logits;
}

// With eager attention (LLM Compressor's calibration forward), llmc's bf16 forward runs transformers' ops in
// their order and dtypes, so the bf16 logits are bit for bit transformers' eager bf16 logits.
TEST(ComputeOptions, EagerAttentionInBf16IsBitForBitTransformersEager) {
  for (const std::string name : {"qwen3_bf16", "llama_linear_tied_bf16"}) {
    const auto dir = testing::fixture_dir() / name;
    const auto reference = testing::read_tensors(dir / "reference_native_eager.safetensors");
    const at::Tensor logits =
        logits_of(dir, {.dtype = at::kBFloat16, .attention = AttentionMath::eager}, {reference.at("ids"), at::Tensor()});
    ASSERT_TRUE(logits.defined());
    ASSERT_EQ(logits.scalar_type(), at::kBFloat16);
    const at::Tensor expected = reference.at("logits");
    EXPECT_TRUE(at::equal(logits, expected)) << name << ": max |diff| " << (logits.to(at::kFloat) - expected.to(at::kFloat)).abs().max().item<double>();
  }
}

// MatmulMath::float32 sums each product in another order than ATen's bf16 kernel, so an output rounds to the
// neighbouring bf16 value now and then (measured on SmolLM2's shapes: 1 in 10^4); through two layers and the head
// that stays within a few bf16 steps of the logits' scale, where a product in the wrong dtype or a lost
// rounding would be off by far more. An fp32 checkpoint has nothing to widen: its logits are unchanged.
TEST(ComputeOptions, WidenedMatmulsStayWithinRoundingOfTransformersEager) {
  for (const std::string name : {"qwen3_bf16", "llama_linear_tied_bf16"}) {
    const auto dir = testing::fixture_dir() / name;
    const auto reference = testing::read_tensors(dir / "reference_native_eager.safetensors");
    const at::Tensor logits =
        logits_of(dir, {.dtype = at::kBFloat16, .attention = AttentionMath::eager, .matmul = MatmulMath::float32},
                  {reference.at("ids"), at::Tensor()});
    ASSERT_TRUE(logits.defined());
    ASSERT_EQ(logits.scalar_type(), at::kBFloat16);
    const at::Tensor expected = reference.at("logits").to(at::kFloat);
    const double error = (logits.to(at::kFloat) - expected).abs().max().item<double>() / expected.abs().max().item<double>();
    std::cout << "[ bf16, float32 matmuls ] " << name << ": max |logit diff| / scale = " << error << "\n";
    EXPECT_LE(error, 4 * std::ldexp(1.0, -8)) << name;
  }
  const auto fp32 = testing::fixture_dir() / "llama";
  const auto reference = testing::read_tensors(fp32 / "reference.safetensors");
  const Batch batch{reference.at("ids_left"), reference.at("mask_left")};
  const at::Tensor native = logits_of(fp32, {.dtype = at::kFloat, .matmul = MatmulMath::dtype}, batch);
  const at::Tensor widened = logits_of(fp32, {.dtype = at::kFloat, .matmul = MatmulMath::float32}, batch);
  ASSERT_TRUE(native.defined() && widened.defined());
  EXPECT_TRUE(at::equal(native, widened));
}

// CUDA and CPU run the same ops; fp32 on the GPU (no TF32: ATen's default for matmul) stays within the
// parity tolerance of transformers' CPU logits.
TEST(ComputeOptions, CudaMatchesTransformers) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  for (const std::string name : {"llama", "qwen3_moe", "w4a16"})
    EXPECT_LE(relative_error(name, {.dtype = at::kFloat, .device = at::Device(at::kCUDA, 0)}, at::kFloat), 1e-5) << name;
}

}  // namespace
}  // namespace llmc::exec
