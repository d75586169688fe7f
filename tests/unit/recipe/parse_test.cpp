// tests/unit/recipe/parse_test.cpp - recipe parsing: the happy paths and every error, with its location.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "recipe/recipe.h"
#include "recipe_test_util.h"

namespace llmc::recipe {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;
using testing::parse_error;
using testing::parse_ok;

constexpr std::string_view kUniform = R"([calibration]
dataset = "data.jsonl"
samples = 512
max_seq_length = 2048
seed = 42

[[modifier]]
plugin = "smoothquant"
smoothing_strength = 0.8

[[modifier]]
plugin = "gptq"
scheme = "W8A8"
targets = ["Linear"]
ignore = ["lm_head"]
)";

TEST(recipeParse, Uniform) {
  auto recipe = parse_ok(kUniform);
  ASSERT_TRUE(recipe);
  EXPECT_EQ(recipe->file, "r.toml");
  EXPECT_EQ(recipe->text, kUniform);
  EXPECT_EQ(recipe->calibration.dataset, "data.jsonl");
  EXPECT_EQ(recipe->calibration.samples, 512);
  EXPECT_EQ(recipe->calibration.max_seq_length, 2048);
  EXPECT_EQ(recipe->calibration.seed, 42);
  ASSERT_EQ(recipe->modifiers.size(), 2u);

  const Modifier& smooth = recipe->modifiers[0];
  EXPECT_EQ(smooth.index, 0u);
  EXPECT_EQ(smooth.plugin, "smoothquant");
  EXPECT_EQ(smooth.label(), "modifier 1 (smoothquant)");
  EXPECT_EQ(smooth.location.str(), "r.toml:7:1");
  EXPECT_THAT(smooth.targets, ElementsAre("Linear"));
  EXPECT_TRUE(smooth.ignore.empty());
  EXPECT_FALSE(smooth.sets_quantization());
  ASSERT_EQ(smooth.plugin_keys->size(), 1u);
  const toml::node* strength = smooth.plugin_keys->get("smoothing_strength");
  ASSERT_NE(strength, nullptr);
  EXPECT_EQ(strength->value<double>(), 0.8);
  EXPECT_EQ(strength->source().begin.line, 9u);
  EXPECT_EQ(strength->source().begin.column, 22u);

  const Modifier& gptq = recipe->modifiers[1];
  EXPECT_EQ(gptq.label(), "modifier 2 (gptq)");
  EXPECT_EQ(gptq.location.str(), "r.toml:11:1");
  EXPECT_THAT(gptq.targets, ElementsAre("Linear"));
  EXPECT_THAT(gptq.ignore, ElementsAre("lm_head"));
  EXPECT_TRUE(gptq.plugin_keys->empty());
  EXPECT_TRUE(gptq.sets_quantization());
  ASSERT_EQ(gptq.groups.size(), 1u);
  const QuantizationGroup& group = gptq.groups[0];
  EXPECT_THAT(group.targets, ElementsAre("Linear"));
  EXPECT_EQ(group.location.str(), "r.toml:13:1");
  EXPECT_EQ(group.scheme["targets"], nlohmann::json::array({"Linear"}));
  EXPECT_EQ(group.scheme["format"], "int-quantized");
  EXPECT_EQ(group.scheme["weights"]["strategy"], "channel");
  EXPECT_EQ(group.scheme["weights"]["observer"], "memoryless_minmax");
  EXPECT_EQ(group.scheme["input_activations"]["strategy"], "token");
  EXPECT_EQ(group.scheme["input_activations"]["dynamic"], true);
  EXPECT_EQ(group.scheme["input_activations"]["observer"], nullptr);
  EXPECT_EQ(group.scheme["output_activations"], nullptr);
}

TEST(recipeParse, Groups) {
  auto recipe = parse_ok(R"([[modifier]]
plugin = "gptq"
ignore = ["lm_head"]
block_size = 64
  [[modifier.group]]
  targets = ['re:.*self_attn\.(q|k|v|o)_proj$']
  scheme = "FP8_DYNAMIC"
  [[modifier.group]]
  targets = ['re:.*mlp\.(gate|up|down)_proj$', "lm_head"]
  weights = { num_bits = 4, type = "int", symmetric = true, strategy = "group", group_size = 64 }
)");
  ASSERT_TRUE(recipe);
  const Modifier& modifier = recipe->modifiers.at(0);
  EXPECT_THAT(modifier.targets, ElementsAre(R"(re:.*self_attn\.(q|k|v|o)_proj$)", R"(re:.*mlp\.(gate|up|down)_proj$)",
                                            "lm_head"));
  EXPECT_THAT(modifier.ignore, ElementsAre("lm_head"));
  ASSERT_EQ(modifier.groups.size(), 2u);
  EXPECT_EQ(modifier.groups[0].location.str(), "r.toml:5:3");
  EXPECT_EQ(modifier.groups[1].location.str(), "r.toml:8:3");
  EXPECT_EQ(modifier.groups[0].scheme["format"], "float-quantized");
  EXPECT_EQ(modifier.groups[0].scheme["targets"], nlohmann::json::array({R"(re:.*self_attn\.(q|k|v|o)_proj$)"}));
  const nlohmann::json& weights = modifier.groups[1].scheme["weights"];
  EXPECT_EQ(weights, nlohmann::json::parse(R"({"num_bits": 4, "type": "int", "symmetric": true, "group_size": 64,
      "strategy": "group", "block_structure": null, "dynamic": false, "actorder": null, "scale_dtype": null,
      "zp_dtype": null, "observer": "memoryless_minmax", "observer_kwargs": {}})"));
  EXPECT_EQ(modifier.groups[1].scheme["input_activations"], nullptr);
  EXPECT_EQ(modifier.groups[1].scheme["format"], "pack-quantized");
  EXPECT_EQ(modifier.plugin_keys->size(), 1u);
  EXPECT_NE(modifier.plugin_keys->get("block_size"), nullptr);
}

TEST(recipeParse, KvCacheSchemeAndStringTargets) {
  auto recipe = parse_ok(R"([[modifier]]
plugin = "rtn"
targets = "Linear"
ignore = "lm_head"
kv_cache_scheme = { num_bits = 8, type = "float", strategy = "tensor" }
)");
  ASSERT_TRUE(recipe);
  const Modifier& modifier = recipe->modifiers.at(0);
  EXPECT_THAT(modifier.targets, ElementsAre("Linear"));
  EXPECT_THAT(modifier.ignore, ElementsAre("lm_head"));
  EXPECT_TRUE(modifier.groups.empty());
  EXPECT_TRUE(modifier.sets_quantization());
  ASSERT_TRUE(modifier.kv_cache_scheme);
  EXPECT_EQ(modifier.kv_cache_scheme->location.str(), "r.toml:5:1");
  EXPECT_EQ(modifier.kv_cache_scheme->args, nlohmann::json::parse(R"({"num_bits": 8, "type": "float",
      "symmetric": true, "group_size": null, "strategy": "tensor", "block_structure": null, "dynamic": false,
      "actorder": null, "scale_dtype": null, "zp_dtype": null, "observer": null, "observer_kwargs": {}})"));
}

TEST(recipeParse, ModifierWithoutQuantization) {
  auto recipe = parse_ok(R"(
[[modifier]]
plugin = "sparsegpt"
sparsity = 0.5
mask_structure = "2:4"
)");
  ASSERT_TRUE(recipe);
  const Modifier& modifier = recipe->modifiers.at(0);
  EXPECT_EQ(modifier.location.str(), "r.toml:2:1");
  EXPECT_FALSE(modifier.sets_quantization());
  EXPECT_THAT(modifier.targets, ElementsAre("Linear"));
  EXPECT_EQ(modifier.plugin_keys->size(), 2u);
  EXPECT_FALSE(recipe->calibration.samples);
}

TEST(recipeParse, PresetNamesIgnoreCase) {
  auto recipe = parse_ok("[[modifier]]\nplugin = \"rtn\"\nscheme = \"w4a16\"\n");
  ASSERT_TRUE(recipe);
  EXPECT_EQ(recipe->modifiers.at(0).groups.at(0).scheme["weights"]["num_bits"], 4);
}

TEST(recipeParse, File) {
  const auto path = std::filesystem::temp_directory_path() / "llmc_recipe_parse_test.toml";
  std::ofstream(path) << kUniform;
  auto recipe = parse_recipe_file(path);
  ASSERT_TRUE(recipe) << recipe.error().message;
  EXPECT_EQ(recipe->file, path.string());
  EXPECT_EQ(recipe->modifiers.at(1).location.str(), path.string() + ":11:1");
  EXPECT_EQ(recipe->text, kUniform);
  std::filesystem::remove(path);

  auto missing = parse_recipe_file(path);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, StartsWith(path.string() + ": cannot read the recipe"));
}

TEST(recipeParse, EveryShippedRecipe) {
  const auto dir = std::filesystem::path(LLMC_SOURCE_DIR) / "recipes";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    auto recipe = parse_recipe_file(entry.path());
    EXPECT_TRUE(recipe) << recipe.error().message;
  }
}

// Every error names the file, line and column, and the key at fault.
struct ErrorCase {
  const char* name;
  const char* recipe;
  const char* error;
};

void PrintTo(const ErrorCase& error_case, std::ostream* out) { *out << error_case.name; }

class ParseError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseError, Message) { EXPECT_EQ(parse_error(GetParam().recipe), GetParam().error); }

constexpr ErrorCase kErrors[] = {
    {"MalformedToml", "[[modifier]]\nplugin = \"gptq\nscheme = 1\n",
     "r.toml:2:15: Error while parsing string: unescaped control characters other than TAB (U+0009) are "
     "explicitly prohibited"},
    {"UnknownTopLevelKey", "[calibrate]\nsamples = 1\n",
     "r.toml:1:2: unknown key 'calibrate' in the recipe; valid keys: calibration, modifier"},
    {"NoModifier", "[calibration]\nsamples = 1\n", "r.toml:1:1: the recipe has no [[modifier]] table"},
    {"ModifierNotTables", "modifier = 3\n",
     "r.toml:1:12: key 'modifier' must be an array of tables ([[modifier]]), got integer"},
    {"CalibrationType", "[calibration]\nsamples = \"many\"\n[[modifier]]\nplugin = \"rtn\"\n",
     "r.toml:2:11: key 'samples' must be an integer, got string"},
    {"CalibrationNotTable", "calibration = 5\n[[modifier]]\nplugin = \"rtn\"\n",
     "r.toml:1:15: key 'calibration' must be a table, got integer"},
    {"CalibrationUnknownKey", "[calibration]\nnum_samples = 5\n[[modifier]]\nplugin = \"rtn\"\n",
     "r.toml:2:1: unknown key 'num_samples' in [calibration]; valid keys: dataset, samples, max_seq_length, seed, shuffle, concatenate"},
    {"CalibrationNotPositive", "[calibration]\nmax_seq_length = 0\n[[modifier]]\nplugin = \"rtn\"\n",
     "r.toml:2:18: key 'max_seq_length' must be positive, got 0"},
    {"CalibrationNegativeSeed", "[calibration]\nseed = -1\n[[modifier]]\nplugin = \"rtn\"\n",
     "r.toml:2:8: key 'seed' must be non-negative, got -1"},
    {"MissingPlugin", "[[modifier]]\nscheme = \"W4A16\"\n", "r.toml:1:1: modifier 1: missing required key 'plugin'"},
    {"PluginType", "[[modifier]]\nplugin = 1\n", "r.toml:2:10: modifier 1: key 'plugin' must be a string, got integer"},
    {"PluginName", "[[modifier]]\nplugin = \"GPTQ\"\n",
     "r.toml:2:10: modifier 1: key 'plugin' must be a plugin name of [a-z0-9_]+, got \"GPTQ\""},
    {"EmptyTargets", "[[modifier]]\nplugin = \"rtn\"\ntargets = []\n",
     "r.toml:3:11: modifier 1 (rtn): key 'targets' must not be empty"},
    {"TargetsType", "[[modifier]]\nplugin = \"rtn\"\ntargets = 3\n",
     "r.toml:3:11: modifier 1 (rtn): key 'targets' must be a string or an array of strings, got integer"},
    {"TargetsElementType", "[[modifier]]\nplugin = \"rtn\"\ntargets = [\"Linear\", 3]\n",
     "r.toml:3:22: modifier 1 (rtn): key 'targets' must be an array of strings, got an element of type integer"},
    {"EmptyTargetString", "[[modifier]]\nplugin = \"rtn\"\nignore = [\"\"]\n",
     "r.toml:3:11: modifier 1 (rtn): key 'ignore' holds an empty string"},
    {"InvalidRegex", "[[modifier]]\nplugin = \"rtn\"\ntargets = [\"Linear\", 're:(q|k']\n",
     "r.toml:3:22: modifier 1 (rtn): key 'targets': target 're:(q|k': invalid regular expression: "
     "Mismatched '(' and ')' in regular expression"},
    {"PythonOnlyRegex", "[[modifier]]\nplugin = \"rtn\"\nignore = ['re:.*(?<=mlp)\\.gate']\n",
     "r.toml:3:11: modifier 1 (rtn): key 'ignore': target 're:.*(?<=mlp)\\.gate': lookbehind (?<= / (?<! is "
     "not supported (targets run on ECMAScript regular expressions)"},
    {"UnknownScheme", "[[modifier]]\nplugin = \"rtn\"\nscheme = \"W4A32\"\n",
     "r.toml:3:10: modifier 1 (rtn): unknown scheme 'W4A32'; valid schemes: UNQUANTIZED, W4A16_ASYM, W8A8, INT8, "
     "W4AFP8, FP8, FP8_DYNAMIC, FP8_BLOCK, NVFP4A16, NVFP4, MXFP4A16, MXFP4, MXFP8A16, MXFP8, W2A4, W2A8, W2A16, "
     "W3A4, W3A8, W3A16, W4A4, W4A8, W4A16, W5A8, W5A16, W6A8, W6A16, W7A8, W7A16, W8A16"},
    {"SchemeType", "[[modifier]]\nplugin = \"rtn\"\nscheme = { W4A16 = [\"Linear\"] }\n",
     "r.toml:3:10: modifier 1 (rtn): key 'scheme' must be a string, got table"},
    {"SchemeWithArgs", "[[modifier]]\nplugin = \"rtn\"\nscheme = \"W4A16\"\nweights = { num_bits = 8 }\n",
     "r.toml:4:1: modifier 1 (rtn): key 'weights' cannot be combined with 'scheme': a preset is taken whole (as in "
     "LLM Compressor); write all of the args explicitly instead"},
    {"ArgsNotTable", "[[modifier]]\nplugin = \"rtn\"\ninput_activations = \"FP8\"\n",
     "r.toml:3:21: modifier 1 (rtn): key 'input_activations' must be a table, got string"},
    {"ArgsUnknownKey", "[[modifier]]\nplugin = \"rtn\"\nweights = { bits = 4 }\n",
     "r.toml:3:13: modifier 1 (rtn): unknown key 'bits' in 'weights'; valid keys: num_bits, type, symmetric, "
     "group_size, strategy, block_structure, dynamic, actorder, scale_dtype, zp_dtype, observer, observer_kwargs"},
    {"ArgsType", "[[modifier]]\nplugin = \"rtn\"\n[modifier.weights]\nnum_bits = \"4\"\n",
     "r.toml:4:12: modifier 1 (rtn): key 'weights.num_bits' must be an integer, got string"},
    {"ArgsRule", "[[modifier]]\nplugin = \"rtn\"\nweights = { num_bits = 4, strategy = \"group\" }\n",
     "r.toml:3:11: modifier 1 (rtn): key 'weights': strategy 'group' requires a positive group_size"},
    {"SchemeRule", "[[modifier]]\nplugin = \"rtn\"\ninput_activations = { strategy = \"channel\" }\n",
     "r.toml:3:1: modifier 1 (rtn): strategy 'channel' is not supported for input_activations (use token, tensor, "
     "group, tensor_group or attn_head)"},
    {"KvCacheRule", "[[modifier]]\nplugin = \"rtn\"\nkv_cache_scheme = { num_bits = 8, type = \"float\", "
     "strategy = \"token\" }\n",
     "r.toml:3:19: modifier 1 (rtn): key 'kv_cache_scheme': strategy 'token' needs dynamic = true (static token "
     "quantization does not exist)"},
    {"SchemeAndGroups", "[[modifier]]\nplugin = \"rtn\"\nscheme = \"W4A16\"\n[[modifier.group]]\ntargets = "
     "[\"Linear\"]\nscheme = \"FP8\"\n",
     "r.toml:4:1: modifier 1 (rtn): [[modifier.group]] cannot be combined with the modifier's own 'scheme', "
     "'weights', 'input_activations' or 'output_activations'"},
    {"TargetsAndGroups", "[[modifier]]\nplugin = \"rtn\"\ntargets = [\"Linear\"]\n[[modifier.group]]\ntargets = "
     "[\"Linear\"]\nscheme = \"FP8\"\n",
     "r.toml:3:1: modifier 1 (rtn): key 'targets' cannot be combined with [[modifier.group]]: each group names its "
     "own targets"},
    {"GroupNotTables", "[[modifier]]\nplugin = \"rtn\"\ngroup = [1]\n",
     "r.toml:3:9: modifier 1 (rtn): key 'group' must be an array of tables ([[modifier.group]]), got array"},
    {"GroupWithoutTargets", "[[modifier]]\nplugin = \"rtn\"\n[[modifier.group]]\nscheme = \"FP8\"\n",
     "r.toml:3:1: modifier 1 (rtn), group 1: missing required key 'targets'"},
    {"GroupWithoutScheme", "[[modifier]]\nplugin = \"rtn\"\n[[modifier.group]]\ntargets = [\"Linear\"]\n",
     "r.toml:3:1: modifier 1 (rtn), group 1: the group sets no quantization: give it a 'scheme' or 'weights', "
     "'input_activations', 'output_activations'"},
    {"GroupUnknownKey", "[[modifier]]\nplugin = \"rtn\"\n[[modifier.group]]\ntargets = [\"Linear\"]\nscheme = "
     "\"FP8\"\nignore = [\"lm_head\"]\n",
     "r.toml:6:1: modifier 1 (rtn), group 1: unknown key 'ignore' in [[modifier.group]]; valid keys: targets, scheme, "
     "weights, input_activations, output_activations"},
    {"GroupDuplicateTarget", "[[modifier]]\nplugin = \"rtn\"\n[[modifier.group]]\ntargets = [\"Linear\"]\nscheme = "
     "\"FP8\"\n[[modifier.group]]\ntargets = [\"lm_head\", \"Linear\"]\nscheme = \"W4A16\"\n",
     "r.toml:7:11: modifier 1 (rtn), group 2: target 'Linear' is also a target of group 1; a target string may "
     "appear in one group only"},
};

INSTANTIATE_TEST_SUITE_P(recipe, ParseError, ::testing::ValuesIn(kErrors),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace llmc::recipe
