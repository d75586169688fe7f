// tests/unit/plugins_gptq/gptq_reference_test.cpp - the gptq plugin's math against the installed reference
// (llmcompressor 0.14.0.1 on compressed-tensors 0.19, CPU) on the cases of make_gptq_cases.py: Hessian
// accumulation, then gptq_quantize versus quantize_weight, with the fake-quantization the host serves
// (core/quant: qparams from compute_weight_qparams, columns through fake_quantize_columns).
//
// Tolerance: none. Both sides run float32 math with the same LibTorch build (the torch wheel in .venv), the
// same ops in the same order and the same memory layouts wherever a sum is formed (Hessian matmul, mean
// of the diagonal, Cholesky factorizations, the block's bmm, the loss's row sums), and elementwise steps
// that round alike (products before differences, no fused multiply-add): Hessians, qparams, quantized
// weights and losses are equal element for element. A difference means the arithmetic diverged.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "gptq_quantize.h"
#include "hessian.h"
#include "plugins_gptq/gptq_cases.h"
#include "quant/column_quantize.h"
#include "quant/observer.h"
#include "recipe/quant_args.h"

namespace llmc::gptq {
namespace {

using testing::case_tensor;
using testing::difference;
using testing::gptq_cases;

TEST(GptqReference, HessianMatchesAccumulateHessian) {
  for (const std::string name : {"h.main", "h.dead"}) {
    const at::Tensor expected_sum = case_tensor(name + ".sum");
    Hessian hessian(expected_sum.size(0), at::kCPU);
    for (int batch = 0; batch < 4; ++batch) hessian.add(case_tensor(name + ".x" + std::to_string(batch)), 1);
    EXPECT_EQ(difference(hessian.sum(), expected_sum), "") << name << " sum";
    EXPECT_EQ(hessian.samples(), 4);
    EXPECT_EQ(difference(hessian.normalized(), case_tensor(name)), "") << name << " / n";
  }
}

TEST(GptqReference, QuantizeWeightMatches) {
  ASSERT_FALSE(gptq_cases().empty());
  for (const nlohmann::json& item : gptq_cases()) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    auto args = recipe::quant_args_from_json(item["args"]);
    ASSERT_TRUE(args) << args.error().message;
    const std::string actorder = item["actorder"];
    const at::Tensor weight = case_tensor(item["weight"].get<std::string>());
    const at::Tensor hessian = case_tensor(item["hessian"].get<std::string>());

    std::optional<at::Tensor> order;
    if (actorder != "none") order = activation_order(hessian);
    auto qparams = quant::compute_weight_qparams(weight, *args);
    ASSERT_TRUE(qparams) << qparams.error().message;
    EXPECT_EQ(difference(qparams->scale.to(at::kFloat), case_tensor(name + ".scale").to(at::kFloat)), "") << "scale";
    if (qparams->global_scale) {
      EXPECT_EQ(difference(*qparams->global_scale, case_tensor(name + ".global_scale")), "") << "global scale";
    }

    const ColumnQuantizer quantizer = [&](const at::Tensor& values, const at::Tensor& columns, const at::Tensor& out) {
      auto quantized = quant::fake_quantize_columns(values, columns, *qparams, *args);
      if (!quantized) throw std::runtime_error(quantized.error().message);
      out.copy_(*quantized);
    };
    const GptqOptions options{item["block_size"].get<std::int64_t>(), item["dampening_frac"].get<double>()};
    const GptqResult result = gptq_quantize(weight.to(at::kFloat, false, true), hessian.clone(), order, options, quantizer);
    EXPECT_EQ(difference(result.weight, case_tensor(name + ".quantized")), "") << "quantized weight";
    const double loss = item["loss"];
    EXPECT_EQ(result.loss, loss) << "loss";
    EXPECT_EQ(result.identity_fallback, item["rtn_fallback"].get<bool>());
  }
}

// What the cases exercise is what they claim: dead columns end at zero, the non-positive-definite Hessian
// falls back, and the orders differ (actorder changes the result).
TEST(GptqReference, CasesCoverTheirEdges) {
  const at::Tensor dead = case_tensor("int4_g32_dead_columns.quantized");
  EXPECT_TRUE(dead.select(1, 7).eq(0).all().item<bool>());
  EXPECT_TRUE(dead.select(1, 100).eq(0).all().item<bool>());
  EXPECT_FALSE(case_tensor("int4_g32_weight.quantized").equal(case_tensor("int4_g32_none.quantized")));
  for (const nlohmann::json& item : gptq_cases()) {
    EXPECT_EQ(item["rtn_fallback"].get<bool>(), item["name"] == "int4_g32_not_positive_definite") << item["name"];
  }
}

}  // namespace
}  // namespace llmc::gptq
