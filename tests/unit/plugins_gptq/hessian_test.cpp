// tests/unit/plugins_gptq/hessian_test.cpp - Hessian sharing among modules that read one input tensor.
// The sums are compared exactly: the shared and the separate ones run the same float32 ops.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "hessian.h"

namespace llmc::gptq {
namespace {

at::Tensor random_input(std::int64_t seed, std::int64_t tokens = 12, std::int64_t columns = 8) {
  at::manual_seed(seed);
  return at::randn({tokens, columns}).to(at::kBFloat16);
}

// H = (2 / samples) sum x x^T, in float64 as an independent formula (float32 rounding: relative 1e-5).
at::Tensor expected_hessian(const std::vector<at::Tensor>& inputs, std::int64_t samples) {
  at::Tensor sum = at::zeros({inputs[0].size(1), inputs[0].size(1)}, at::kDouble);
  for (const at::Tensor& x : inputs) sum += 2 * x.to(at::kDouble).t().matmul(x.to(at::kDouble));
  return sum / static_cast<double>(samples);
}

TEST(LayerHessians, ModulesReadingOneTensorShareOneHessian) {
  LayerHessians hessians;
  std::vector<at::Tensor> attention_inputs, mlp_inputs;
  for (int batch = 0; batch < 3; ++batch) {
    const at::Tensor attention = random_input(batch), mlp = random_input(10 + batch);
    attention_inputs.push_back(attention);
    mlp_inputs.push_back(mlp);
    hessians.add({{"q_proj", attention}, {"k_proj", attention}, {"v_proj", attention.view_as(attention)},
                  {"gate_proj", mlp}, {"up_proj", mlp}},
                 2);
  }
  EXPECT_EQ(hessians.distinct(), 2u);
  EXPECT_EQ(hessians.find("q_proj"), hessians.find("v_proj"));
  EXPECT_EQ(hessians.find("gate_proj"), hessians.find("up_proj"));
  EXPECT_NE(hessians.find("q_proj"), hessians.find("up_proj"));
  EXPECT_EQ(hessians.find("down_proj"), nullptr);
  const auto q = hessians.find("q_proj");
  EXPECT_EQ(q->samples(), 6);  // added once per batch, not once per module
  EXPECT_TRUE(at::allclose(q->normalized().to(at::kDouble), expected_hessian(attention_inputs, 6), 1e-5, 1e-6));
  hessians.clear();
  EXPECT_EQ(hessians.distinct(), 0u);
}

TEST(LayerHessians, SharedHessianEqualsSeparateOnes) {
  LayerHessians shared, separate;
  for (int batch = 0; batch < 2; ++batch) {
    const at::Tensor x = random_input(batch);
    shared.add({{"a", x}, {"b", x}}, 1);
    separate.add({{"a", x}}, 1);
    separate.add({{"b", x.clone()}}, 1);
  }
  EXPECT_TRUE(shared.find("a")->sum().equal(separate.find("a")->sum()));
  EXPECT_TRUE(shared.find("b")->sum().equal(separate.find("b")->sum()));
}

TEST(LayerHessians, ASharingTheBatchesContradictIsSplit) {
  LayerHessians hessians;
  const at::Tensor first = random_input(1), second_a = random_input(2), second_b = random_input(3);
  hessians.add({{"a", first}, {"b", first}}, 1);
  hessians.add({{"a", second_a}, {"b", second_b}}, 1);
  EXPECT_EQ(hessians.distinct(), 2u);
  EXPECT_TRUE(at::allclose(hessians.find("a")->normalized().to(at::kDouble), expected_hessian({first, second_a}, 2),
                           1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(hessians.find("b")->normalized().to(at::kDouble), expected_hessian({first, second_b}, 2),
                           1e-5, 1e-6));
}

TEST(LayerHessians, AWrongInputNamesTheModule) {
  LayerHessians hessians;
  hessians.add({{"o_proj", random_input(1, 4, 8)}}, 1);
  try {
    hessians.add({{"o_proj", random_input(2, 4, 6)}}, 1);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("o_proj"), std::string::npos) << e.what();
  }
}

TEST(Hessian, NormalizeNeedsSamplesAndEndsAccumulation) {
  Hessian hessian(8, at::kCPU);
  EXPECT_THROW(hessian.normalized(), std::logic_error);
  hessian.add(random_input(1), 1);
  hessian.normalized();
  EXPECT_THROW(hessian.add(random_input(2), 1), std::logic_error);
}

}  // namespace
}  // namespace llmc::gptq
