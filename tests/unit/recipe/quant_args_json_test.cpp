// tests/unit/recipe/quant_args_json_test.cpp - quant_args_from_json: the inverse of to_json, with CT's
// spellings, defaults and validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/presets.h"
#include "recipe/quant_args.h"

namespace llmc::recipe {
namespace {

using ::testing::HasSubstr;

std::string error_of(std::string_view json) {
  auto args = quant_args_from_json(nlohmann::json::parse(json));
  return args ? std::string("<parsed>") : args.error().message;
}

TEST(recipeQuantArgsJson, RoundTripsEveryPreset) {
  for (std::string_view name : preset_names()) {
    const auto preset = find_preset(name);
    ASSERT_TRUE(preset) << name;
    for (const auto& args : {preset->weights, preset->input_activations}) {
      if (!args) continue;
      QuantArgs with_observer = *args;
      with_observer.observer = "mse";
      with_observer.observer_kwargs = {{"grid", 50}, {"norm", 2.0}};
      for (const QuantArgs& original : {*args, with_observer}) {
        const nlohmann::json dumped = to_json(original);
        auto parsed = quant_args_from_json(dumped);
        ASSERT_TRUE(parsed) << name << ": " << parsed.error().message;
        EXPECT_EQ(to_json(*parsed), dumped) << name;
        // CT dumps zp_dtype as null when symmetric and infers it again on read, as this does.
        if (!original.symmetric) EXPECT_EQ(parsed->zp_dtype, original.zp_dtype) << name;
      }
    }
  }
}

TEST(recipeQuantArgsJson, DefaultsAndInference) {
  auto args = quant_args_from_json(nlohmann::json::object());
  ASSERT_TRUE(args);
  EXPECT_EQ(args->num_bits, 8);
  EXPECT_EQ(args->type, QuantType::int_);
  EXPECT_TRUE(args->symmetric);
  EXPECT_EQ(args->strategy, Strategy::tensor);
  EXPECT_EQ(args->zp_dtype, "torch.int8");
  EXPECT_FALSE(args->observer);

  args = quant_args_from_json(nlohmann::json::parse(R"({"num_bits": 4, "group_size": 128, "symmetric": false})"));
  ASSERT_TRUE(args);
  EXPECT_EQ(args->strategy, Strategy::group);
  EXPECT_EQ(to_json(*args)["zp_dtype"], "torch.int8");
}

TEST(recipeQuantArgsJson, AcceptsCtSpellings) {
  auto args = quant_args_from_json(nlohmann::json::parse(
      R"({"type": "FLOAT", "num_bits": 4, "strategy": "TENSOR_GROUP", "group_size": 16, "dynamic": "LOCAL",
          "scale_dtype": "float8_e4m3fn", "actorder": false})"));
  ASSERT_TRUE(args) << args.error().message;
  EXPECT_EQ(args->type, QuantType::float_);
  EXPECT_EQ(args->strategy, Strategy::tensor_group);
  EXPECT_EQ(args->dynamic, Dynamic::local);
  EXPECT_EQ(args->scale_dtype, "torch.float8_e4m3fn");
  EXPECT_FALSE(args->actorder);

  args = quant_args_from_json(nlohmann::json::parse(R"({"strategy": "block", "block_structure": "128x64"})"));
  ASSERT_TRUE(args) << args.error().message;
  EXPECT_EQ(args->block_structure, (std::array<int64_t, 2>{128, 64}));
}

TEST(recipeQuantArgsJson, Errors) {
  EXPECT_THAT(error_of(R"({"bits": 4})"), HasSubstr("unknown key 'bits'"));
  EXPECT_THAT(error_of(R"({"num_bits": 0})"), HasSubstr("key 'num_bits' must be a positive integer, got 0"));
  EXPECT_THAT(error_of(R"({"type": "fp"})"), HasSubstr("must be \"int\" or \"float\""));
  EXPECT_THAT(error_of(R"({"symmetric": 1})"), HasSubstr("key 'symmetric' must be a boolean"));
  EXPECT_THAT(error_of(R"({"group_size": -2})"), HasSubstr("null or an integer >= -1"));
  EXPECT_THAT(error_of(R"({"strategy": "row"})"), HasSubstr("one of tensor, channel"));
  EXPECT_THAT(error_of(R"({"strategy": "block", "block_structure": [128]})"), HasSubstr("two positive integers"));
  EXPECT_THAT(error_of(R"({"dynamic": "yes"})"), HasSubstr("true, false or \"local\""));
  EXPECT_THAT(error_of(R"({"group_size": 64, "actorder": "group"})"), HasSubstr("removed \"group\""));
  EXPECT_THAT(error_of(R"({"scale_dtype": "fp8"})"), HasSubstr("a torch dtype name"));
  EXPECT_THAT(error_of(R"({"observer_kwargs": []})"), HasSubstr("must be an object"));
  EXPECT_THAT(error_of(R"({"strategy": "token"})"), HasSubstr("needs dynamic = true"));
  EXPECT_THAT(error_of("[1]"), HasSubstr("must be an object"));
}

}  // namespace
}  // namespace llmc::recipe
