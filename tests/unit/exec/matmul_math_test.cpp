// tests/unit/exec/matmul_math_test.cpp - MatmulMath: the widened products and the choice `--matmul auto` makes
// (compute_options_test.cpp runs whole models in each).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "exec/matmul_math.h"

namespace llmc::exec {
namespace {

// The widened product is float32's product of the same values, rounded once to the dtype; float32 operands
// and MatmulMath::dtype run ATen's own call.
TEST(MatmulMath, WidensOnlySixteenBitOperands) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({5, 33}).to(at::kBFloat16), w = at::randn({7, 33}).to(at::kBFloat16);
  const at::Tensor b = at::randn({7}).to(at::kBFloat16);
  const at::Tensor widened = linear_in(MatmulMath::float32, x, w, b);
  EXPECT_EQ(widened.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(widened, at::linear(x.to(at::kFloat), w.to(at::kFloat), b.to(at::kFloat)).to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(linear_in(MatmulMath::dtype, x, w, b), at::linear(x, w, b)));
  const at::Tensor xf = x.to(at::kFloat), wf = w.to(at::kFloat);
  EXPECT_TRUE(at::equal(linear_in(MatmulMath::float32, xf, wf, at::Tensor()), at::linear(xf, wf)));
  EXPECT_TRUE(at::equal(matmul_in(MatmulMath::float32, x, w.t()),
                        at::matmul(x.to(at::kFloat), wf.t()).to(at::kBFloat16)));
}

TEST(MatmulMath, AutoWidensOnlySixteenBitDtypesAndAChoiceStands) {
  EXPECT_EQ(resolve_matmul_math(std::nullopt, at::kFloat), MatmulMath::dtype);
  EXPECT_EQ(resolve_matmul_math(MatmulMath::dtype, at::kBFloat16), MatmulMath::dtype);
  EXPECT_EQ(resolve_matmul_math(MatmulMath::float32, at::kFloat), MatmulMath::float32);
  // the CPU decides for 16-bit dtypes, and decides the same way every time
  EXPECT_EQ(resolve_matmul_math(std::nullopt, at::kBFloat16), resolve_matmul_math(std::nullopt, at::kBFloat16));
  EXPECT_EQ(parse_matmul_math("dtype"), MatmulMath::dtype);
  EXPECT_EQ(parse_matmul_math("float32"), MatmulMath::float32);
  EXPECT_EQ(parse_matmul_math("auto"), std::nullopt);
  EXPECT_EQ(parse_matmul_math("fp32"), std::nullopt);
  EXPECT_EQ(to_string(MatmulMath::float32), "float32");
}

}  // namespace
}  // namespace llmc::exec
