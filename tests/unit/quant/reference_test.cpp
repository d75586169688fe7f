// tests/unit/quant/reference_test.cpp - bit-exact parity with the installed reference (llmcompressor
// 0.14 + compressed-tensors 0.19, CPU) on the cases of make_reference_cases.py: weight qparams, quantized
// values, fake-quantized and dequantized weights, fused global scales, imatrix_mse's input importance and
// weighted search, activation observers over batches and dynamic activation qparams. Tolerance everywhere:
// none (same bytes).
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "quant/observer.h"
#include "quant/qparams.h"
#include "quant/quantize.h"
#include "quant/reference_data.h"
#include "recipe/quant_args.h"

namespace llmc::quant {
namespace {

using testing::byte_difference;
using testing::reference_data;

const at::Tensor& expected_tensor(const std::string& name) {
  static const at::Tensor missing;
  const auto& tensors = reference_data().tensors;
  const auto it = tensors.find(name);
  if (it == tensors.end()) {
    ADD_FAILURE() << "no reference tensor " << name;
    return missing;
  }
  return it->second;
}

recipe::QuantArgs args_of(const nlohmann::json& item) {
  auto args = recipe::quant_args_from_json(item["args"]);
  EXPECT_TRUE(args) << (args ? "" : args.error().message);
  return args ? *args : recipe::QuantArgs{};
}

std::vector<nlohmann::json> cases_of(std::string_view kind) {
  std::vector<nlohmann::json> selected;
  for (const auto& item : reference_data().cases) {
    if (item["kind"] == kind) selected.push_back(item);
  }
  EXPECT_FALSE(selected.empty()) << "no reference cases of kind " << kind;
  return selected;
}

#define EXPECT_SAME(actual, name) EXPECT_EQ(byte_difference((actual), expected_tensor(name)), "") << (name)

// Everything the reference computes for one weight from its qparams: quantized values (the compressor's
// input to packing), the dequantized weight and the fake-quantized one.
void expect_weight_outputs(const std::string& name, const recipe::QuantArgs& args, const QParams& qparams) {
  const at::Tensor& weight = expected_tensor(name + ".weight");
  EXPECT_SAME(qparams.scale, name + ".scale");
  ASSERT_TRUE(qparams.zero_point) << name;
  EXPECT_SAME(*qparams.zero_point, name + ".zero_point");
  auto quantized = quantize(weight, qparams, args);
  ASSERT_TRUE(quantized) << name << ": " << quantized.error().message;
  EXPECT_SAME(*quantized, name + ".quantized");
  auto dequantized = dequantize(*quantized, qparams, args, qparams.scale.scalar_type());
  ASSERT_TRUE(dequantized) << name << ": " << dequantized.error().message;
  EXPECT_SAME(*dequantized, name + ".dequantized");
  auto fake = fake_quantize(weight, qparams, args);
  ASSERT_TRUE(fake) << name << ": " << fake.error().message;
  EXPECT_SAME(*fake, name + ".fake");
}

TEST(quantReference, WeightSchemes) {
  int checked = 0;
  for (const auto& item : cases_of("weight")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    const recipe::QuantArgs args = args_of(item);
    auto qparams = compute_weight_qparams(expected_tensor(name + ".weight"), args);
    ASSERT_TRUE(qparams) << name << ": " << qparams.error().message;
    EXPECT_EQ(qparams->global_scale.has_value(), item["has_global_scale"].get<bool>()) << name;
    if (qparams->global_scale) EXPECT_SAME(*qparams->global_scale, name + ".global_scale");
    expect_weight_outputs(name, args, *qparams);
    ++checked;
  }
  EXPECT_GE(checked, 90);
}

TEST(quantReference, FusedGlobalScale) {
  for (const auto& item : cases_of("fused")) {
    SCOPED_TRACE(item["name"].get<std::string>());
    const recipe::QuantArgs args = args_of(item);
    std::vector<at::Tensor> weights;
    for (const auto& member : item["members"]) weights.push_back(expected_tensor(member.get<std::string>() + ".weight"));
    auto global = compute_fused_global_scale(weights, args);
    ASSERT_TRUE(global) << global.error().message;
    for (const auto& member : item["members"]) {
      const std::string name = member;
      EXPECT_SAME(*global, name + ".global_scale");
      auto qparams = compute_weight_qparams(expected_tensor(name + ".weight"), args, *global);
      ASSERT_TRUE(qparams) << name << ": " << qparams.error().message;
      expect_weight_outputs(name, args, *qparams);
    }
  }
}

// imatrix_mse: the importance gathered from the module's inputs as the reference's forward-pre hook gathers
// it, then the weighted search; cases without inputs, or with the tensor and block strategies, are the
// reference's uniform fallback.
TEST(quantReference, ImatrixWeights) {
  int weighted = 0;  // cases where the importance changed the scale: the test sees the weighting
  for (const auto& item : cases_of("imatrix")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    const recipe::QuantArgs args = args_of(item);
    InputImportance importance;
    for (int b = 0; b < item["batches"].get<int>(); ++b)
      ASSERT_TRUE(importance.add(expected_tensor(fmt::format("{}.batch{}", name, b))));
    EXPECT_EQ(importance.tokens, item["tokens"].get<int64_t>());
    if (importance.tokens > 0) EXPECT_SAME(importance.sum, name + ".importance_sum");
    const at::Tensor& weight = expected_tensor(name + ".weight");
    auto qparams = compute_weight_qparams(weight, args, std::nullopt, &importance);
    ASSERT_TRUE(qparams) << qparams.error().message;
    EXPECT_EQ(qparams->global_scale.has_value(), item["has_global_scale"].get<bool>());
    if (qparams->global_scale) EXPECT_SAME(*qparams->global_scale, name + ".global_scale");
    expect_weight_outputs(name, args, *qparams);
    auto uniform = compute_weight_qparams(weight, args);
    ASSERT_TRUE(uniform) << uniform.error().message;
    if (!at::equal(uniform->scale, qparams->scale)) ++weighted;
  }
  EXPECT_GE(weighted, 10);
}

TEST(quantReference, ActivationObserversOverBatches) {
  for (const auto& item : cases_of("observer")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    auto observer = Observer::create(args_of(item));
    ASSERT_TRUE(observer) << observer.error().message;
    for (int b = 0; b < item["batches"].get<int>(); ++b) {
      ASSERT_TRUE(observer->update(expected_tensor(fmt::format("{}.batch{}", name, b))));
      ASSERT_TRUE(observer->statistics());
      EXPECT_SAME(observer->statistics()->min_vals, fmt::format("{}.min{}", name, b));
      EXPECT_SAME(observer->statistics()->max_vals, fmt::format("{}.max{}", name, b));
    }
    auto qparams = observer->qparams();
    ASSERT_TRUE(qparams) << qparams.error().message;
    EXPECT_SAME(qparams->scale, name + ".scale");
    EXPECT_SAME(*qparams->zero_point, name + ".zero_point");
    EXPECT_EQ(qparams->global_scale.has_value(), item["has_global_scale"].get<bool>());
    if (qparams->global_scale) EXPECT_SAME(*qparams->global_scale, name + ".global_scale");
  }
}

TEST(quantReference, DynamicActivations) {
  for (const auto& item : cases_of("dynamic")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    const recipe::QuantArgs args = args_of(item);
    std::optional<at::Tensor> global;
    if (item["has_global_scale"].get<bool>()) global = expected_tensor(name + ".global_scale");
    const at::Tensor& input = expected_tensor(name + ".input");
    auto qparams = compute_dynamic_qparams(input, args, global);
    ASSERT_TRUE(qparams) << qparams.error().message;
    EXPECT_SAME(qparams->scale, name + ".scale");
    EXPECT_SAME(*qparams->zero_point, name + ".zero_point");
    auto fake = fake_quantize(input, *qparams, args);
    ASSERT_TRUE(fake) << fake.error().message;
    EXPECT_SAME(*fake, name + ".fake");
  }
}

}  // namespace
}  // namespace llmc::quant
