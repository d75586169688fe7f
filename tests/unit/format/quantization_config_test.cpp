// tests/unit/format/quantization_config_test.cpp - quantization_config built from a recipe's groups and the
// model's modules, field by field against the config.json the installed LLM Compressor wrote for the same
// recipe (make_reference_checkpoints.py).
#include <gtest/gtest.h>

#include "format/config_reader.h"
#include "format/quantization_config.h"
#include "format/test_support.h"
#include "recipe/recipe.h"
#include "recipe/target_match.h"

namespace llmc::format {
namespace {

// Field by field (recursing into objects), so that a difference names its path.
void expect_same_json(const nlohmann::json& ours, const nlohmann::json& reference, const std::string& path) {
  if (reference.is_object() && ours.is_object()) {
    for (const auto& [key, value] : reference.items()) {
      if (!ours.contains(key)) {
        ADD_FAILURE() << path << "." << key << " missing, reference " << value.dump();
        continue;
      }
      expect_same_json(ours[key], value, path + "." + key);
    }
    for (const auto& [key, value] : ours.items()) {
      EXPECT_TRUE(reference.contains(key)) << path << "." << key << " is not in the reference: " << value.dump();
    }
    return;
  }
  EXPECT_EQ(ours, reference) << path;
}

class ReferenceConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceConfig, MatchesReferenceFieldByField) {
  const auto dir = testing::reference_dir();
  ASSERT_FALSE(dir.empty());
  const auto cases = testing::read_json(dir / "cases.json");
  auto recipe = recipe::parse_recipe_string(cases["cases"][GetParam()].get<std::string>(), GetParam() + ".toml");
  ASSERT_TRUE(recipe) << recipe.error().message;
  const recipe::Modifier& modifier = recipe->modifiers.at(0);

  std::vector<std::string> names;
  std::vector<std::vector<std::string>> classes;
  for (const auto& entry : cases["modules"]) {
    names.push_back(entry[0]);
    classes.push_back({entry[1].get<std::string>()});
  }
  std::vector<recipe::ModuleRef> refs;
  for (size_t i = 0; i < names.size(); ++i) refs.push_back({names[i], classes[i]});
  auto resolution = recipe::resolve_targets(modifier, refs);
  ASSERT_TRUE(resolution) << resolution.error().message;

  std::vector<ModuleQuantization> modules;
  for (size_t i = 0; i < names.size(); ++i) modules.push_back({names[i], classes[i][0], nullptr});
  for (const auto& match : resolution->matches) {
    modules[match.module_index].scheme = &modifier.groups.at(match.group_index).scheme;
  }
  auto config = quantization_config(collect_quantization(modules));
  ASSERT_TRUE(config) << config.error().message;
  const auto reference = testing::read_json(dir / GetParam() / "config.json")["quantization_config"];
  expect_same_json(*config, reference, "quantization_config");

  // What we write reads back to the same groups.
  auto parsed = parse_quantization_config(*config);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->groups.size(), reference["config_groups"].size());
}

INSTANTIATE_TEST_SUITE_P(Format, ReferenceConfig,
                         ::testing::Values("w4a16", "w4a16_asym", "w8a16", "w8a8", "fp8_dynamic", "fp8_block",
                                           "nvfp4a16", "mxfp4a16", "mixed", "mlp_only", "odd_bits"));

nlohmann::json scheme(std::vector<std::string> targets, std::string format) {
  return {{"targets", std::move(targets)}, {"weights", {{"num_bits", 8}}}, {"input_activations", nullptr},
          {"output_activations", nullptr}, {"format", std::move(format)}};
}

TEST(QuantizationConfig, KvCacheAndTransformPassThrough) {
  QuantizationConfigInputs inputs;
  inputs.kv_cache_scheme = {{"num_bits", 8}, {"type", "float"}, {"strategy", "tensor"}};
  inputs.transform_config = {{"config_groups", nlohmann::json::object()}};
  auto config = quantization_config(inputs);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ((*config)["format"], "dense");  // CT's infer_model_format with no quantized module
  EXPECT_EQ((*config)["kv_cache_scheme"], inputs.kv_cache_scheme);
  EXPECT_EQ((*config)["transform_config"], inputs.transform_config);
  EXPECT_EQ((*config)["version"], "0.19.0");
  EXPECT_EQ((*config)["quantization_status"], "compressed");
}

TEST(QuantizationConfig, Errors) {
  QuantizationConfigInputs inputs;
  inputs.schemes = {scheme({"Linear"}, "int8-quantized")};
  auto unknown = quantization_config(inputs);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("group_0"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("unknown compressed-tensors format 'int8-quantized'"), std::string::npos);
  inputs.schemes = {scheme({"Linear"}, "mixed-precision")};
  EXPECT_FALSE(quantization_config(inputs));
  inputs.schemes = {nlohmann::json{{"targets", {"Linear"}}}};
  auto missing = quantization_config(inputs);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("has no format"), std::string::npos);
}

TEST(QuantizationConfig, IgnoreListByModuleType) {
  const auto fp8 = scheme({"Linear"}, "float-quantized");
  const std::vector<ModuleQuantization> modules = {
      {"model.embed_tokens", "Embedding", nullptr},
      {"model.layers.0.mlp.gate", "Qwen3MoeTopKRouter", nullptr},  // a router counts as Linear
      {"model.layers.0.mlp.experts.0.up_proj", "Linear", &fp8},
      {"model.layers.0.input_layernorm", "Qwen3MoeRMSNorm", nullptr},
      {"lm_head", "Linear", nullptr},
  };
  const auto inputs = collect_quantization(modules);
  EXPECT_EQ(inputs.ignore, (std::vector<std::string>{"model.layers.0.mlp.gate", "lm_head"}));
  ASSERT_EQ(inputs.schemes.size(), 1u);
  EXPECT_EQ(vllm_module_type("MixtralSparseMoeBlockGate"), "Linear");
  EXPECT_EQ(vllm_module_type("GatedMLP"), "GatedMLP");  // "Gate" followed by a lower-case letter
  EXPECT_EQ(vllm_module_type("GateExpertMLP"), "GateExpertMLP");
}

TEST(ConfigReader, FindGroupFollowsCtOrder) {
  const nlohmann::json config = {
      {"config_groups",
       {{"group_0", scheme({"Linear"}, "float-quantized")},
        {"group_1", scheme({"re:.*down_proj$"}, "naive-quantized")},
        {"group_2", scheme({"model.layers.0.mlp.down_proj"}, "int-quantized")}}},
      {"ignore", {"lm_head", "re:.*gate_proj$"}},
      {"format", "mixed-precision"}};
  auto parsed = parse_quantization_config(config);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const std::vector<std::string> linear = {"Linear"};
  auto group_of = [&](std::string_view name) {
    auto group = parsed->find_group(name, linear);
    EXPECT_TRUE(group);
    return group && *group ? (*group)->name : std::string("none");
  };
  EXPECT_EQ(group_of("model.layers.0.mlp.down_proj"), "group_2");  // exact name first
  EXPECT_EQ(group_of("model.layers.1.mlp.down_proj"), "group_1");  // then regex
  EXPECT_EQ(group_of("model.layers.1.mlp.up_proj"), "group_0");    // then class
  EXPECT_EQ(group_of("model.layers.1.mlp.gate_proj"), "none");     // ignored
  EXPECT_EQ(group_of("lm_head"), "none");
}

TEST(ConfigReader, PresetGroupsAndErrors) {
  auto preset = parse_quantization_config({{"config_groups", {{"W4A16", {"Linear"}}}}, {"format", "pack-quantized"}});
  ASSERT_TRUE(preset) << preset.error().message;
  ASSERT_EQ(preset->groups.size(), 1u);
  EXPECT_EQ(preset->groups[0].format, Format::pack_quantized);
  EXPECT_EQ(preset->groups[0].scheme.weights->group_size, 128);

  auto unknown_key = parse_quantization_config(
      {{"config_groups", {{"group_0", {{"targets", {"Linear"}}, {"weights", {{"bits", 4}}}}}}}});
  ASSERT_FALSE(unknown_key);
  EXPECT_NE(unknown_key.error().message.find("unknown key 'bits'"), std::string::npos);
  auto bad_format = parse_quantization_config(
      {{"config_groups", {{"group_0", scheme({"Linear"}, "marlin-24")}}}});
  ASSERT_FALSE(bad_format);
  EXPECT_NE(bad_format.error().message.find("unknown compressed-tensors format 'marlin-24'"), std::string::npos);
}

}  // namespace
}  // namespace llmc::format
