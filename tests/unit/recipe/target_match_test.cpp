// tests/unit/recipe/target_match_test.cpp - target/ignore resolution, on the module names of real
// transformers models, against what compressed-tensors itself matches (tests/data/module_names, written by
// tools/gen_module_names.py).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "recipe/target_match.h"
#include "recipe_test_util.h"

namespace llmc::recipe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::filesystem::path kFixtures = std::filesystem::path(LLMC_SOURCE_DIR) / "tests/data/module_names";

struct ModuleEntry {
  std::string name;
  std::vector<std::string> class_names;
};

struct Model {
  std::vector<ModuleEntry> entries;
  std::vector<ModuleRef> refs;
};

Model load_modules(const std::string& arch) {
  Model model;
  std::ifstream file(kFixtures / (arch + ".txt"));
  EXPECT_TRUE(file) << arch;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line.starts_with('#')) continue;
    std::istringstream fields(line);
    ModuleEntry entry;
    std::string class_name, mro;
    fields >> entry.name >> class_name >> mro;
    std::istringstream names(mro);
    for (std::string name; std::getline(names, name, ',');) entry.class_names.push_back(name);
    EXPECT_EQ(entry.class_names.front(), class_name) << line;
    model.entries.push_back(std::move(entry));
  }
  for (const ModuleEntry& entry : model.entries) model.refs.push_back(ModuleRef{entry.name, entry.class_names});
  return model;
}

Modifier modifier_with(std::vector<std::string> targets, std::vector<std::string> ignore) {
  Modifier modifier;
  modifier.plugin = "rtn";
  modifier.location = SourceLocation{"r.toml", 1, 1};
  modifier.targets = std::move(targets);
  modifier.ignore = std::move(ignore);
  return modifier;
}

Modifier grouped_modifier(const std::vector<std::vector<std::string>>& groups, std::vector<std::string> ignore) {
  Modifier modifier = modifier_with({}, std::move(ignore));
  for (size_t g = 0; g < groups.size(); ++g) {
    modifier.groups.push_back(QuantizationGroup{groups[g], nullptr, SourceLocation{"r.toml", 10 + int(g), 1}});
    for (const std::string& target : groups[g]) modifier.targets.push_back(target);
  }
  return modifier;
}

class ReferenceMatching : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceMatching, SameModulesAndGroupsAsCompressedTensors) {
  const Model model = load_modules(GetParam());
  ASSERT_FALSE(model.refs.empty());
  const auto golden = nlohmann::json::parse(std::ifstream(kFixtures / (GetParam() + ".golden.json")));
  ASSERT_GE(golden["cases"].size(), 10u);
  for (const nlohmann::json& test_case : golden["cases"]) {
    SCOPED_TRACE(test_case.dump());
    const bool grouped = test_case.contains("groups");
    const auto ignore = test_case["ignore"].get<std::vector<std::string>>();
    const Modifier modifier =
        grouped ? grouped_modifier(test_case["groups"].get<std::vector<std::vector<std::string>>>(), ignore)
                : modifier_with(test_case["targets"].get<std::vector<std::string>>(), ignore);
    auto resolution = resolve_targets(modifier, model.refs);
    ASSERT_TRUE(resolution) << resolution.error().message;
    nlohmann::json ours = nlohmann::json::array();
    for (const Match& match : resolution->matches) {
      const std::string& name = model.entries[match.module_index].name;
      if (grouped) {
        ours.push_back({name, match.group_index});
      } else {
        EXPECT_EQ(match.group_index, -1);
        ours.push_back(name);
      }
    }
    EXPECT_EQ(ours, test_case["matched"]);
  }
}

INSTANTIATE_TEST_SUITE_P(recipe, ReferenceMatching,
                         ::testing::Values("llama", "qwen2", "qwen3", "mixtral", "qwen3_moe"));

TEST(recipeTargetMatch, ParsedRecipeOnARealModel) {
  auto recipe = testing::parse_ok(R"([[modifier]]
plugin = "gptq"
ignore = ["lm_head"]
  [[modifier.group]]
  targets = ['re:.*self_attn\.(q|k|v|o)_proj$']
  scheme = "FP8_DYNAMIC"
  [[modifier.group]]
  targets = ['re:.*mlp\.(gate|up|down)_proj$']
  scheme = "W4A16"
)");
  ASSERT_TRUE(recipe);
  const Model model = load_modules("llama");
  auto resolution = resolve_targets(recipe->modifiers[0], model.refs);
  ASSERT_TRUE(resolution) << resolution.error().message;
  EXPECT_THAT(resolution->warnings, IsEmpty());
  ASSERT_EQ(resolution->matches.size(), 14u);  // 2 layers x (4 attention + 3 MLP)
  for (const Match& match : resolution->matches) {
    const std::string& name = model.entries[match.module_index].name;
    EXPECT_EQ(match.group_index, name.find("self_attn") != std::string::npos ? 0 : 1) << name;
  }
}

TEST(recipeTargetMatch, ModifierLevelSchemeIsGroupZero) {
  auto recipe = testing::parse_ok("[[modifier]]\nplugin = \"rtn\"\nscheme = \"W4A16\"\nignore = [\"lm_head\"]\n");
  ASSERT_TRUE(recipe);
  const Model model = load_modules("qwen3");
  auto resolution = resolve_targets(recipe->modifiers[0], model.refs);
  ASSERT_TRUE(resolution);
  EXPECT_EQ(resolution->matches.size(), 14u);
  for (const Match& match : resolution->matches) EXPECT_EQ(match.group_index, 0);
}

TEST(recipeTargetMatch, IgnoreWinsAndLinearBaseCountsAsLinear) {
  const std::vector<std::string> vllm_classes{"QKVParallelLinear", "ColumnParallelLinear", "LinearBase", "Module"};
  const std::vector<std::string> linear{"Linear", "Module"};
  const ModuleRef modules[] = {{"layers.0.qkv_proj", vllm_classes}, {"lm_head", linear}};
  auto resolution = resolve_targets(modifier_with({"Linear", "lm_head"}, {"lm_head"}), modules);
  ASSERT_TRUE(resolution);
  ASSERT_EQ(resolution->matches.size(), 1u);
  EXPECT_EQ(resolution->matches[0].module_index, 0u);
  EXPECT_EQ(resolution->matches[0].group_index, -1);
}

TEST(recipeTargetMatch, Warnings) {
  const Model model = load_modules("llama");
  auto unmatched = resolve_targets(modifier_with({"Linear", "re:.*experts.*"}, {}), model.refs);
  ASSERT_TRUE(unmatched);
  EXPECT_THAT(unmatched->warnings,
              ElementsAre("r.toml:1:1: modifier 1 (rtn): target 're:.*experts.*' matches no module"));

  auto nothing = resolve_targets(modifier_with({"re:.*mlp.*"}, {"re:.*"}), model.refs);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->matches.empty());
  EXPECT_THAT(nothing->warnings, ElementsAre(HasSubstr("claims no module")));

  auto ambiguous = resolve_targets(grouped_modifier({{"re:.*self_attn.*"}, {"re:.*proj$"}}, {}), model.refs);
  ASSERT_TRUE(ambiguous);
  EXPECT_THAT(ambiguous->warnings,
              ElementsAre("r.toml:1:1: modifier 1 (rtn): 8 module(s), first 'model.layers.0.self_attn.q_proj', match "
                          "targets of group 1 and group 2; compressed-tensors gives them group 2 (target 're:.*proj$'), "
                          "vLLM the group of the first matching name target in config order: make the targets "
                          "disjoint"));

  // An exact name over a class name is the same choice for compressed-tensors and vLLM: no warning.
  auto clear = resolve_targets(grouped_modifier({{"Linear"}, {"model.layers.0.mlp.up_proj"}}, {}), model.refs);
  ASSERT_TRUE(clear);
  EXPECT_THAT(clear->warnings, IsEmpty());
}

TEST(recipeTargetMatch, InvalidRegexIsAnError) {
  const Model model = load_modules("llama");
  auto in_group = resolve_targets(grouped_modifier({{"Linear"}, {"re:(?<=mlp)x"}}, {}), model.refs);
  ASSERT_FALSE(in_group);
  EXPECT_THAT(in_group.error().message,
              ::testing::StartsWith("r.toml:11:1: modifier 1 (rtn): target 're:(?<=mlp)x': lookbehind"));
  auto in_ignore = resolve_targets(modifier_with({"Linear"}, {"re:(a"}), model.refs);
  ASSERT_FALSE(in_ignore);
  EXPECT_THAT(in_ignore.error().message, HasSubstr("target 're:(a': invalid regular expression"));
}

}  // namespace
}  // namespace llmc::recipe
