// tests/unit/plugins_gptq/weight_scheme_test.cpp - reading the module's scheme, and GPTQModifier's
// actorder resolution (resolve_quantization_config in llmcompressor's modifiers/gptq/base.py).
#include <gtest/gtest.h>

#include "weight_scheme.h"

namespace llmc::gptq {
namespace {

WeightScheme scheme(WeightStrategy strategy, std::optional<ActOrder> actorder = std::nullopt) {
  return WeightScheme{strategy, actorder};
}

TEST(WeightScheme, ReadsStrategyAndActorder) {
  const auto parsed = parse_weight_scheme(
      R"({"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": true, "group_size": 128,
          "strategy": "group", "actorder": "static"}, "input_activations": null, "format": "pack-quantized"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->strategy, WeightStrategy::group);
  EXPECT_EQ(parsed->actorder, ActOrder::weight);
  const auto block = parse_weight_scheme(R"({"weights": {"strategy": "block", "actorder": null}})");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->strategy, WeightStrategy::block);
  EXPECT_FALSE(block->actorder);
}

TEST(WeightScheme, NoWeightsMeansNothingToQuantize) {
  EXPECT_FALSE(parse_weight_scheme(R"({"targets": ["Linear"], "weights": null, "input_activations": {}})"));
  EXPECT_FALSE(parse_weight_scheme(R"({"targets": ["Linear"]})"));
}

TEST(WeightScheme, RejectsWhatGptqCannotRun) {
  EXPECT_THROW(parse_weight_scheme("not json"), std::invalid_argument);
  EXPECT_THROW(parse_weight_scheme(R"({"weights": {"strategy": "token"}})"), std::invalid_argument);
  EXPECT_THROW(parse_weight_scheme(R"({"weights": {"num_bits": 4}})"), std::invalid_argument);
  EXPECT_THROW(parse_weight_scheme(R"({"weights": {"strategy": "group", "actorder": "columns"}})"),
               std::invalid_argument);
}

TEST(ResolveActorder, StaticDefaultTakesTheSchemesValueElseWeight) {
  EXPECT_EQ(resolve_actorder("static", scheme(WeightStrategy::group)), ActOrder::weight);
  EXPECT_EQ(resolve_actorder("static", scheme(WeightStrategy::channel)), ActOrder::weight);
  EXPECT_EQ(resolve_actorder("static", scheme(WeightStrategy::group, ActOrder::weight)), ActOrder::weight);
}

TEST(ResolveActorder, ExplicitValuesAgreeingWithTheSchemeOrAlone) {
  EXPECT_EQ(resolve_actorder("none", scheme(WeightStrategy::group)), ActOrder::none);
  EXPECT_EQ(resolve_actorder("weight", scheme(WeightStrategy::tensor)), ActOrder::weight);
  EXPECT_EQ(resolve_actorder("weight", scheme(WeightStrategy::block, ActOrder::weight)), ActOrder::weight);
}

TEST(ResolveActorder, ConflictsAndUnknownValuesRaise) {
  try {
    resolve_actorder("none", scheme(WeightStrategy::group, ActOrder::weight));
    FAIL() << "expected a conflict";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("conflicts with the scheme's weights.actorder"), std::string::npos);
  }
  EXPECT_THROW(resolve_actorder("group", scheme(WeightStrategy::group, ActOrder::weight)), std::invalid_argument);
  EXPECT_THROW(resolve_actorder("dynamic", scheme(WeightStrategy::group)), std::invalid_argument);
}

// compressed-tensors 0.19 removed actorder "group" (and its weight_g_idx) and llmcompressor 0.14 refuses it.
TEST(ResolveActorder, GroupIsRefusedAsTheReferenceRefusesIt) {
  for (const char* value : {"group", "dynamic"}) {
    try {
      resolve_actorder(value, scheme(WeightStrategy::group));
      FAIL() << "expected a refusal of " << value;
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), kGroupActorderRemoved);
    }
    const std::string json = std::string(R"({"weights": {"strategy": "group", "actorder": ")") + value + "\"}}";
    EXPECT_THROW(parse_weight_scheme(json), std::invalid_argument) << json;
  }
}

}  // namespace
}  // namespace llmc::gptq
