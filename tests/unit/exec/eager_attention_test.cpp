// tests/unit/exec/eager_attention_test.cpp - eager attention of bfloat16 operands with float32 products: the
// fused float32 path must give the bytes of the bfloat16 ops it replaces (tolerance: none, bit for bit).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

#include "exec/attention.h"

namespace llmc::exec {
namespace {

// transformers' eager_attention_forward with ATen's bfloat16 ops between the widened products.
at::Tensor bfloat16_ops(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                        double scale) {
  const at::Tensor scores = at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(2, 3)).to(at::kBFloat16) * scale;
  const at::Tensor additive = at::zeros(allowed.sizes(), scores.options())
                                  .masked_fill_(allowed.logical_not(), std::numeric_limits<c10::BFloat16>::lowest());
  const at::Tensor probabilities = at::softmax(scores + additive, -1, at::kFloat).to(at::kBFloat16);
  return at::matmul(probabilities.to(at::kFloat), v.to(at::kFloat)).to(at::kBFloat16);
}

TEST(EagerAttention, FloatProductsGiveTheBytesOfBfloat16Ops) {
  at::manual_seed(11);
  const int64_t batch = 2, heads = 3, tokens = 37, dim = 16;
  // scores spread over many binades so that roundings (ties included) happen at every step
  const at::Tensor q = (at::randn({batch, heads, tokens, dim}) * 4).to(at::kBFloat16);
  const at::Tensor k = (at::randn({batch, heads, tokens, dim}) * 4).to(at::kBFloat16);
  const at::Tensor v = at::randn({batch, heads, tokens, dim}).to(at::kBFloat16);
  at::Tensor ids = at::ones({batch, tokens}, at::kLong);
  ids[1].slice(0, 0, 5).zero_();  // left padding in the second sequence
  for (const auto window : {std::optional<int64_t>(), std::optional<int64_t>(9)}) {
    const at::Tensor allowed = attention_mask(ids, window);
    for (const double scale : {0.25, 1.0 / std::sqrt(96.0)}) {
      const at::Tensor fused = eager_attention(q, k, v, allowed, scale, MatmulMath::float32);
      EXPECT_EQ(fused.scalar_type(), at::kBFloat16);
      EXPECT_TRUE(at::equal(fused, bfloat16_ops(q, k, v, allowed, scale))) << "scale " << scale;
    }
  }
}

// Scores beyond bfloat16's range round to infinity as ATen's conversion does; NaN stays NaN.
TEST(EagerAttention, FloatProductsOverflowAndNanAsBfloat16Ops) {
  at::Tensor q = at::ones({1, 1, 4, 2}).to(at::kBFloat16);
  at::Tensor k = at::ones({1, 1, 4, 2}).to(at::kBFloat16);
  const at::Tensor v = at::arange(8, at::kFloat).reshape({1, 1, 4, 2}).to(at::kBFloat16);
  // q.k = bfloat16's max + 1e36: finite in float32, past half of bfloat16's last step, so inf in bfloat16
  q[0][0][1][0] = static_cast<double>(std::numeric_limits<c10::BFloat16>::max());
  q[0][0][1][1] = 1.0e36;
  q[0][0][2][0] = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor allowed = attention_mask(at::ones({1, 4}, at::kLong), std::nullopt);
  const at::Tensor fused = eager_attention(q, k, v, allowed, 1.0, MatmulMath::float32);
  const at::Tensor expected = bfloat16_ops(q, k, v, allowed, 1.0);
  EXPECT_TRUE(at::allclose(fused, expected, 0.0, 0.0, /*equal_nan=*/true)) << fused << expected;
  EXPECT_TRUE(fused[0][0][1].isnan().all().item<bool>());  // softmax of a row holding inf
  EXPECT_TRUE(fused[0][0][2].isnan().all().item<bool>());
}

}  // namespace
}  // namespace llmc::exec
