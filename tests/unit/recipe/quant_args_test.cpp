// tests/unit/recipe/quant_args_test.cpp - explicit QuantizationArgs: CT's validation and inference rules,
// LLM Compressor's observer defaults, the dump form and format inference. presets_reference_test.cpp
// checks the same cases against the installed reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/presets.h"
#include "recipe/quant_args.h"
#include "recipe/quant_scheme.h"
#include "recipe/recipe.h"
#include "recipe_test_util.h"

namespace llmc::recipe {
namespace {

using ::testing::HasSubstr;

// The modifier-level scheme of a recipe whose quantization keys are `keys` (line 3 onwards).
nlohmann::json scheme_of(std::string_view keys) {
  auto recipe = testing::parse_ok(std::string("[[modifier]]\nplugin = \"q\"\n") + std::string(keys));
  if (!recipe || recipe->modifiers[0].groups.empty()) return nullptr;
  return recipe->modifiers[0].groups[0].scheme;
}

std::string error_of(std::string_view keys) {
  return testing::parse_error(std::string("[[modifier]]\nplugin = \"q\"\n") + std::string(keys));
}

TEST(recipeQuantArgs, DumpsEveryFieldWithDefaults) {
  EXPECT_EQ(scheme_of("weights = {}\n")["weights"], nlohmann::json::parse(R"({"num_bits": 8, "type": "int",
      "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false,
      "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": "memoryless_minmax",
      "observer_kwargs": {}})"));
}

TEST(recipeQuantArgs, InfersTheStrategyFromTheGroupSize) {
  EXPECT_EQ(scheme_of("weights = { group_size = 128 }\n")["weights"]["strategy"], "group");
  EXPECT_EQ(scheme_of("weights = { group_size = -1 }\n")["weights"]["strategy"], "channel");
  EXPECT_EQ(scheme_of("weights = { num_bits = 4 }\n")["weights"]["strategy"], "tensor");
  EXPECT_THAT(error_of("weights = { group_size = 0 }\n"), HasSubstr("invalid group_size 0"));
  EXPECT_EQ(error_of("weights = { group_size = -2 }\n"),
            "r.toml:3:26: modifier 1 (q): key 'weights.group_size' is -2: use a positive group_size for strategy "
            "'group' and -1 for 'channel'");
}

TEST(recipeQuantArgs, ValidationRules) {
  EXPECT_THAT(error_of("input_activations = { strategy = \"token\" }\n"), HasSubstr("needs dynamic = true"));
  EXPECT_THAT(error_of("weights = { strategy = \"tensor_group\" }\n"), HasSubstr("requires a positive group_size"));
  EXPECT_THAT(error_of("weights = { strategy = \"channel\", group_size = 32 }\n"),
              HasSubstr("group_size 32 requires strategy 'group' or 'tensor_group', got 'channel'"));
  EXPECT_THAT(error_of("weights = { strategy = \"block\" }\n"), HasSubstr("strategy 'block' requires block_structure"));
  EXPECT_THAT(error_of("weights = { block_structure = [128, 128] }\n"),
              HasSubstr("block_structure requires strategy 'block', got 'tensor'"));
  EXPECT_THAT(error_of("weights = { strategy = \"block\", block_structure = [128, 0] }\n"),
              HasSubstr("must be a list of two positive integers"));
  EXPECT_THAT(error_of("weights = { strategy = \"block\", block_structure = \"128x\" }\n"),
              HasSubstr("must be a list of two positive integers"));
  const auto legacy_block = scheme_of("weights = { strategy = \"block\", block_structure = \"128x64\" }\n");
  EXPECT_EQ(legacy_block["weights"]["block_structure"], nlohmann::json::array({128, 64}));
  EXPECT_THAT(error_of("weights = { strategy = \"channel\", dynamic = true }\n"),
              HasSubstr("dynamic quantization needs strategy token, tensor, tensor_group or group, got 'channel'"));
  EXPECT_THAT(error_of("input_activations = { strategy = \"group\", group_size = 16, dynamic = \"local\" }\n"),
              HasSubstr("dynamic = \"local\" needs strategy 'tensor_group', got 'group'"));
  EXPECT_THAT(error_of("weights = { type = \"float\", num_bits = 6 }\n"),
              HasSubstr("float quantization supports num_bits 4 (E2M1) and 8 (E4M3), got 6"));
  EXPECT_THAT(error_of("weights = { num_bits = 0 }\n"), HasSubstr("key 'weights.num_bits' must be positive, got 0"));
  EXPECT_THAT(error_of("weights = { type = \"fp\" }\n"), HasSubstr("must be \"int\" or \"float\", got \"fp\""));
  EXPECT_THAT(error_of("weights = { strategy = \"row\" }\n"),
              HasSubstr("must be one of tensor, channel, group, block, token, tensor_group, attn_head, got \"row\""));
  EXPECT_THAT(error_of("weights = { dynamic = \"yes\" }\n"), HasSubstr("must be true, false or \"local\""));
  EXPECT_THAT(error_of("weights = { symmetric = 1 }\n"), HasSubstr("key 'weights.symmetric' must be a boolean"));
  EXPECT_THAT(error_of("weights = { observer_kwargs = 1 }\n"),
              HasSubstr("key 'weights.observer_kwargs' must be a table"));
}

TEST(recipeQuantArgs, CaseOfEnumValues) {
  const auto scheme = scheme_of(
      "input_activations = { type = \"FLOAT\", num_bits = 4, strategy = \"TENSOR_GROUP\", group_size = 16, "
      "dynamic = \"LOCAL\" }\n");
  EXPECT_EQ(scheme["input_activations"]["type"], "float");
  EXPECT_EQ(scheme["input_activations"]["strategy"], "tensor_group");
  EXPECT_EQ(scheme["input_activations"]["dynamic"], "local");
  EXPECT_EQ(scheme["input_activations"]["observer"], "minmax");
}

TEST(recipeQuantArgs, ActivationOrdering) {
  EXPECT_EQ(scheme_of("weights = { group_size = 64, actorder = \"weight\" }\n")["weights"]["actorder"], "weight");
  EXPECT_EQ(scheme_of("weights = { group_size = 64, actorder = \"static\" }\n")["weights"]["actorder"], "static");
  EXPECT_EQ(scheme_of("weights = { group_size = 64, actorder = false }\n")["weights"]["actorder"], nullptr);
  EXPECT_THAT(error_of("weights = { group_size = 64, actorder = true }\n"), HasSubstr("use \"weight\""));
  EXPECT_THAT(error_of("weights = { group_size = 64, actorder = \"group\" }\n"),
              HasSubstr("\"group\" was removed from compressed-tensors"));
  EXPECT_THAT(error_of("weights = { group_size = 64, actorder = \"dynamic\" }\n"), HasSubstr("was removed"));
  EXPECT_THAT(error_of("weights = { group_size = 64, actorder = \"WEIGHT\" }\n"),
              HasSubstr("must be \"weight\" (alias \"static\") or false"));
  EXPECT_THAT(error_of("input_activations = { actorder = \"weight\" }\n"),
              HasSubstr("input_activations cannot carry actorder"));
  EXPECT_THAT(error_of("output_activations = { actorder = \"weight\" }\n"),
              HasSubstr("output_activations cannot carry actorder"));
}

TEST(recipeQuantArgs, ObserverDefaults) {
  const auto scheme = scheme_of(
      "weights = { num_bits = 4, group_size = 128 }\n"
      "input_activations = { strategy = \"tensor\" }\n"
      "output_activations = { strategy = \"token\", dynamic = true }\n");
  EXPECT_EQ(scheme["weights"]["observer"], "memoryless_minmax");
  EXPECT_EQ(scheme["input_activations"]["observer"], "minmax");
  EXPECT_EQ(scheme["output_activations"]["observer"], nullptr);
  EXPECT_EQ(scheme_of("weights = { observer = \"mse\" }\n")["weights"]["observer"], "mse");
}

TEST(recipeQuantArgs, ZeroPointAndScaleDtypes) {
  EXPECT_EQ(scheme_of("weights = { num_bits = 4, symmetric = false }\n")["weights"]["zp_dtype"], "torch.int8");
  EXPECT_EQ(scheme_of("weights = { num_bits = 12, symmetric = false }\n")["weights"]["zp_dtype"], "torch.int16");
  EXPECT_EQ(scheme_of("weights = { num_bits = 24, symmetric = false }\n")["weights"]["zp_dtype"], "torch.int32");
  EXPECT_EQ(scheme_of("weights = { type = \"float\", symmetric = false }\n")["weights"]["zp_dtype"],
            "torch.float8_e4m3fn");
  EXPECT_EQ(scheme_of("weights = { num_bits = 4, zp_dtype = \"int8\" }\n")["weights"]["zp_dtype"], nullptr);
  EXPECT_EQ(scheme_of("weights = { scale_dtype = \"half\" }\n")["weights"]["scale_dtype"], "torch.float16");
  EXPECT_EQ(scheme_of("weights = { scale_dtype = \"torch.float8_e4m3fn\" }\n")["weights"]["scale_dtype"],
            "torch.float8_e4m3fn");
  EXPECT_THAT(error_of("weights = { scale_dtype = \"fp8\" }\n"),
              HasSubstr("names no torch dtype usable here: \"fp8\""));

  auto args = find_preset("NVFP4")->weights;
  ASSERT_TRUE(args);
  EXPECT_EQ(args->zp_dtype, "torch.float8_e4m3fn");  // kept, though dumped as null (symmetric)
}

TEST(recipeQuantArgs, ObserverKwargsBecomeJson) {
  EXPECT_EQ(scheme_of("weights = { observer = \"mse\", observer_kwargs = { grid = 100, norm = 2.4, maxshrink = "
                      "0.2, opts = [1, \"a\"] } }\n")["weights"]["observer_kwargs"],
            nlohmann::json::parse(R"({"grid": 100, "norm": 2.4, "maxshrink": 0.2, "opts": [1, "a"]})"));
}

TEST(recipeQuantArgs, FormatInference) {
  EXPECT_EQ(scheme_of("scheme = \"UNQUANTIZED\"\n")["format"], "dense");
  EXPECT_EQ(scheme_of("scheme = \"W4A16\"\n")["format"], "pack-quantized");
  EXPECT_EQ(scheme_of("scheme = \"W4A8\"\n")["format"], "int-quantized");
  EXPECT_EQ(scheme_of("scheme = \"W8A8\"\n")["format"], "int-quantized");
  EXPECT_EQ(scheme_of("scheme = \"W4AFP8\"\n")["format"], "pack-quantized");  // vLLM's kernel; CT says int-quantized
  EXPECT_EQ(scheme_of("scheme = \"FP8\"\n")["format"], "float-quantized");
  EXPECT_EQ(scheme_of("scheme = \"NVFP4A16\"\n")["format"], "nvfp4-pack-quantized");
  EXPECT_EQ(scheme_of("scheme = \"MXFP4\"\n")["format"], "mxfp4-pack-quantized");
  EXPECT_EQ(scheme_of("scheme = \"MXFP8A16\"\n")["format"], "mxfp8-quantized");
  EXPECT_EQ(scheme_of("weights = { type = \"float\" }\n")["format"], "naive-quantized");
  EXPECT_EQ(scheme_of("weights = { num_bits = 16 }\n")["format"], "naive-quantized");
  EXPECT_EQ(scheme_of("weights = { type = \"float\", group_size = 32 }\n")["format"], "naive-quantized");
  EXPECT_EQ(scheme_of("input_activations = { strategy = \"tensor\" }\n")["format"], "dense");
}

TEST(recipeQuantArgs, PresetTable) {
  const auto names = preset_names();
  EXPECT_EQ(names.size(), 30u);
  for (std::string_view name : names) {
    const auto preset = find_preset(name);
    ASSERT_TRUE(preset) << name;
    EXPECT_EQ(preset->name, name);
    SchemeArgs args{preset->weights, preset->input_activations, std::nullopt};
    EXPECT_TRUE(validate_scheme(args)) << name;
  }
  EXPECT_FALSE(find_preset("W4A32"));
}

}  // namespace
}  // namespace llmc::recipe
