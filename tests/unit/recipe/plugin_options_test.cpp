// tests/unit/recipe/plugin_options_test.cpp - binding plugin-specific keys to a plugin's option specs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/plugin_options.h"
#include "recipe_test_util.h"

namespace llmc::recipe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kSize = sizeof(llmc_option_spec);

constexpr llmc_option_spec kSpecs[] = {
    {kSize, "sparsity", LLMC_OPTION_FLOAT, nullptr, "fraction of weights to prune"},
    {kSize, "mask_structure", LLMC_OPTION_STRING, "\"0:0\"", "N:M pattern"},
    {kSize, "block_size", LLMC_OPTION_INT, "128", "columns per block"},
    {kSize, "dampening_frac", LLMC_OPTION_FLOAT, "1", "Hessian dampening"},
    {kSize, "offload_hessians", LLMC_OPTION_BOOL, "false", "keep Hessians on the CPU"},
    {kSize, "mappings", LLMC_OPTION_STRING_LIST, "[]", "smoothing mappings"},
    {kSize, "owl_lmbda", LLMC_OPTION_FLOAT_LIST, "[0.08, 1]", "OWL lambdas"},
};

Modifier modifier_of(std::string_view keys) {
  auto recipe = testing::parse_ok(std::string("[[modifier]]\nplugin = \"sparsegpt\"\n") + std::string(keys));
  return recipe ? recipe->modifiers.at(0) : Modifier{};
}

std::string bind_error(std::string_view keys, std::span<const llmc_option_spec> specs = kSpecs) {
  auto values = bind_plugin_options(modifier_of(keys), specs.data(), specs.size());
  return values ? "<bound>" : values.error().message;
}

TEST(recipePluginOptions, BindsValuesAndDefaults) {
  // A copy of the modifier: the source positions must survive it.
  const Modifier modifier = modifier_of(
      "sparsity = 0.5\nblock_size = 64\noffload_hessians = true\nmappings = [\"a\", \"b\"]\n"
      "owl_lmbda = [1, 0.5]\n");
  auto values = bind_plugin_options(modifier, kSpecs, std::size(kSpecs));
  ASSERT_TRUE(values) << values.error().message;
  ASSERT_EQ(values->size(), std::size(kSpecs));
  EXPECT_EQ(std::get<double>(values->at("sparsity").value), 0.5);
  EXPECT_EQ(values->at("sparsity").location.str(), "r.toml:3:12");
  EXPECT_EQ(std::get<int64_t>(values->at("block_size").value), 64);
  EXPECT_EQ(values->at("block_size").location.str(), "r.toml:4:14");
  EXPECT_TRUE(std::get<bool>(values->at("offload_hessians").value));
  EXPECT_THAT(std::get<std::vector<std::string>>(values->at("mappings").value), ElementsAre("a", "b"));
  EXPECT_THAT(std::get<std::vector<double>>(values->at("owl_lmbda").value), ElementsAre(1.0, 0.5));

  EXPECT_EQ(std::get<std::string>(values->at("mask_structure").value), "0:0");
  EXPECT_EQ(values->at("mask_structure").location.str(), "r.toml:1:1");
  EXPECT_EQ(std::get<double>(values->at("dampening_frac").value), 1.0);  // an integer literal default
}

TEST(recipePluginOptions, FloatAcceptsIntegers) {
  const Modifier modifier = modifier_of("sparsity = 1\n");
  auto values = bind_plugin_options(modifier, kSpecs, std::size(kSpecs));
  ASSERT_TRUE(values) << values.error().message;
  EXPECT_EQ(std::get<double>(values->at("sparsity").value), 1.0);
}

TEST(recipePluginOptions, Errors) {
  EXPECT_EQ(bind_error("sparsity = 0.5\nsparsty = 0.5\n"),
            "r.toml:4:1: modifier 1 (sparsegpt): unknown key 'sparsty': plugin 'sparsegpt' accepts the keys "
            "sparsity, mask_structure, block_size, dampening_frac, offload_hessians, mappings, owl_lmbda; host keys: "
            "plugin, targets, ignore, scheme, weights, input_activations, output_activations, kv_cache_scheme, "
            "group");
  EXPECT_EQ(bind_error("x = 1\n", {}),
            "r.toml:3:1: modifier 1 (sparsegpt): unknown key 'x': plugin 'sparsegpt' accepts no keys of its own; "
            "host keys: plugin, targets, ignore, scheme, weights, input_activations, output_activations, "
            "kv_cache_scheme, group");
  EXPECT_EQ(bind_error("sparsity = \"half\"\n"),
            "r.toml:3:12: modifier 1 (sparsegpt): key 'sparsity' must be a number, got string");
  EXPECT_EQ(bind_error("sparsity = 0.5\nblock_size = 1.5\n"),
            "r.toml:4:14: modifier 1 (sparsegpt): key 'block_size' must be an integer, got float");
  EXPECT_EQ(bind_error("sparsity = 0.5\nmappings = [\"a\", 1]\n"),
            "r.toml:4:18: modifier 1 (sparsegpt): key 'mappings' must be an array of strings, got an element of "
            "type integer");
  EXPECT_EQ(bind_error("sparsity = 0.5\nowl_lmbda = 0.5\n"),
            "r.toml:4:13: modifier 1 (sparsegpt): key 'owl_lmbda' must be an array of numbers, got float");
  EXPECT_EQ(bind_error("sparsity = 0.5\noffload_hessians = \"yes\"\n"),
            "r.toml:4:20: modifier 1 (sparsegpt): key 'offload_hessians' must be a boolean, got string");
  EXPECT_EQ(bind_error("block_size = 64\n"),
            "r.toml:1:1: modifier 1 (sparsegpt): missing required key 'sparsity' (a number): fraction of weights to "
            "prune");
}

TEST(recipePluginOptions, PluginBugs) {
  const llmc_option_spec bad_default[] = {{kSize, "ratio", LLMC_OPTION_FLOAT, "0.5.1", ""}};
  EXPECT_THAT(bind_error("", bad_default),
              HasSubstr("plugin 'sparsegpt': the default of option 'ratio' (0.5.1) is not a TOML value"));
  const llmc_option_spec wrong_default_type[] = {{kSize, "mask", LLMC_OPTION_STRING, "2:4", ""}};
  EXPECT_THAT(bind_error("", wrong_default_type), HasSubstr("plugin 'sparsegpt': the default of option 'mask'"));
  const llmc_option_spec list_default[] = {{kSize, "names", LLMC_OPTION_STRING_LIST, "[1]", ""}};
  EXPECT_EQ(bind_error("", list_default),
            "plugin 'sparsegpt': the default of option 'names' ([1]) is not an array of strings (a bug in the plugin)");
  const llmc_option_spec host_key[] = {{kSize, "targets", LLMC_OPTION_STRING_LIST, "[]", ""}};
  EXPECT_EQ(bind_error("", host_key),
            "plugin 'sparsegpt': option 'targets' redeclares a key the host owns (a bug in the plugin)");
  const llmc_option_spec twice[] = {{kSize, "a", LLMC_OPTION_INT, "1", ""}, {kSize, "a", LLMC_OPTION_INT, "2", ""}};
  EXPECT_THAT(bind_error("", twice), HasSubstr("option 'a' is declared twice"));
  const llmc_option_spec bad_type[] = {{kSize, "a", 42, "1", ""}};
  EXPECT_THAT(bind_error("", bad_type), HasSubstr("option 'a' has the unknown type 42"));
  const llmc_option_spec two_values[] = {{kSize, "a", LLMC_OPTION_INT, "1\nb = 2", ""}};
  EXPECT_THAT(bind_error("", two_values), HasSubstr("is not one TOML value"));
}

TEST(recipePluginOptions, QuantizationAllowed) {
  const Modifier plain = modifier_of("sparsity = 0.5\n");
  EXPECT_TRUE(check_quantization_allowed(plain, false, "sparsegpt"));

  const Modifier with_scheme = modifier_of("targets = [\"Linear\"]\nscheme = \"W4A16\"\n");
  EXPECT_TRUE(check_quantization_allowed(with_scheme, true, "sparsegpt"));
  auto status = check_quantization_allowed(with_scheme, false, "sparsegpt");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "r.toml:4:1: modifier 1 (sparsegpt): plugin 'sparsegpt' does not quantize, so it accepts none of scheme, "
            "weights, input_activations, output_activations, kv_cache_scheme and [[modifier.group]]");

  const Modifier with_kv = modifier_of("kv_cache_scheme = { type = \"float\" }\n");
  status = check_quantization_allowed(with_kv, false, "smoothquant");
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message,
              ::testing::StartsWith("r.toml:3:1: modifier 1 (sparsegpt): plugin 'smoothquant'"));
}

}  // namespace
}  // namespace llmc::recipe
