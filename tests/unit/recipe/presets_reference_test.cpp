// tests/unit/recipe/presets_reference_test.cpp - every preset scheme, and a set of explicit args, compared
// field by field with the installed reference (LLM Compressor's QuantizationModifier on compressed-tensors),
// in one Python process (tests/unit/recipe/reference_schemes.py).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "recipe/presets.h"
#include "recipe/recipe.h"
#include "recipe/toml_reader.h"

namespace llmc::recipe {
namespace {

namespace fs = std::filesystem;

// Quantization keys of one modifier; both sides must reject a case or resolve it to the same scheme.
constexpr const char* kGroupCases[] = {
    "weights = { num_bits = 4, group_size = 128 }",
    "weights = { num_bits = 4, group_size = 0 }",
    "weights = { num_bits = 4, strategy = \"group\" }",
    "weights = { strategy = \"channel\", group_size = 32 }",
    "weights = { num_bits = 4, group_size = -2 }",
    "weights = { type = \"float\", strategy = \"block\", block_structure = [64, 32] }\n"
    "input_activations = { type = \"float\", strategy = \"group\", group_size = 64, dynamic = true }",
    "weights = { type = \"float\", strategy = \"block\", block_structure = \"128x128\" }",
    "weights = { strategy = \"block\" }",
    "weights = { block_structure = [128, 128] }",
    "input_activations = { strategy = \"token\" }",
    "input_activations = { strategy = \"channel\" }",
    "input_activations = { strategy = \"token\", dynamic = true, actorder = \"weight\" }",
    "output_activations = { actorder = \"weight\" }",
    "weights = { num_bits = 4, group_size = 64, actorder = \"static\" }",
    "weights = { num_bits = 4, group_size = 64, actorder = \"weight\" }",
    "weights = { num_bits = 4, group_size = 64, actorder = false }",
    "weights = { num_bits = 4, group_size = 64, actorder = true }",
    "weights = { num_bits = 4, group_size = 64, actorder = \"group\" }",
    "weights = { type = \"FLOAT\", num_bits = 4, strategy = \"TENSOR_GROUP\", group_size = 16, "
    "scale_dtype = \"float8_e4m3fn\" }\n"
    "input_activations = { type = \"float\", num_bits = 4, strategy = \"tensor_group\", group_size = 16, "
    "dynamic = \"LOCAL\" }",
    "input_activations = { type = \"float\", num_bits = 4, strategy = \"group\", group_size = 16, "
    "dynamic = \"local\" }",
    "weights = { strategy = \"channel\", dynamic = true }",
    "weights = { strategy = \"token\", dynamic = true }",
    "weights = { num_bits = 4, symmetric = false, group_size = 128, zp_dtype = \"torch.int8\" }",
    "weights = { num_bits = 12, symmetric = false }",
    "weights = { type = \"float\", symmetric = false }",
    "weights = { type = \"float\", num_bits = 4, symmetric = false, group_size = 32 }",
    "weights = { scale_dtype = \"half\", strategy = \"channel\" }",
    "weights = { scale_dtype = \"nonsense\" }",
    "weights = { bits = 4 }",
    "weights = { observer = \"mse\", observer_kwargs = { maxshrink = 0.3, grid = 50 } }\n"
    "output_activations = { strategy = \"token\", dynamic = true }",
    "output_activations = { strategy = \"tensor\" }",
    "weights = { type = \"float\", strategy = \"channel\" }\n"
    "input_activations = { type = \"float\", strategy = \"token\", dynamic = true, observer = \"minmax\" }",
    "input_activations = { type = \"float\", strategy = \"attn_head\" }",
    "weights = { num_bits = 4, group_size = 128 }\n"
    "input_activations = { type = \"float\", strategy = \"token\", dynamic = true }",
    "weights = { num_bits = 16 }",
    "weights = { type = \"float\", group_size = 32, scale_dtype = \"uint8\" }",
};

constexpr const char* kKvCases[] = {
    "{ num_bits = 8, type = \"float\", strategy = \"tensor\" }",
    "{ num_bits = 8, type = \"float\", strategy = \"attn_head\" }",
    "{ num_bits = 8, type = \"int\", symmetric = false }",
    "{ strategy = \"token\" }",
};

std::string recipe_with(std::string_view keys) {
  return std::string("[[modifier]]\nplugin = \"q\"\n") + std::string(keys) + "\n";
}

// Runs the reference once for every case: {"presets": ..., "groups": ..., "kv_cache_schemes": ...}.
Expected<nlohmann::json> run_reference(const fs::path& python) {
  const fs::path dir = fs::temp_directory_path() / "llmc_recipe_reference";
  fs::create_directories(dir);
  nlohmann::json request;
  request["presets"] = nlohmann::json::array();
  for (std::string_view name : preset_names()) request["presets"].push_back(name);
  request["groups"] = nlohmann::json::array();
  for (const char* keys : kGroupCases) {
    nlohmann::json group = toml_to_json(toml::parse(keys));
    group["targets"] = {"Linear"};
    request["groups"].push_back(group);
  }
  request["kv_cache_schemes"] = nlohmann::json::array();
  for (const char* args : kKvCases) {
    request["kv_cache_schemes"].push_back(toml_to_json(toml::parse(std::string("a = ") + args))["a"]);
  }
  std::ofstream(dir / "request.json") << request.dump(1);
  const fs::path script = fs::path(LLMC_SOURCE_DIR) / "tests/unit/recipe/reference_schemes.py";
  const std::string command = "\"" + python.string() + "\" \"" + script.string() + "\" \"" +
                              (dir / "request.json").string() + "\" \"" + (dir / "response.json").string() +
                              "\" 2> \"" + (dir / "stderr.txt").string() + "\"";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(dir / "stderr.txt");
    return Error{"the reference script failed: " + command + "\n" +
                 std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>())};
  }
  return nlohmann::json::parse(std::ifstream(dir / "response.json"));
}

// Field by field, so that a difference names the field.
void expect_same_args(const nlohmann::json& ours, const nlohmann::json& reference, const std::string& what) {
  if (reference.is_null()) {
    EXPECT_TRUE(ours.is_null()) << what << ": ours " << ours.dump();
    return;
  }
  ASSERT_TRUE(ours.is_object()) << what << ": ours is null, the reference's " << reference.dump();
  EXPECT_EQ(ours.size(), reference.size()) << what << ": ours " << ours.dump();
  for (const auto& [field, value] : reference.items()) {
    EXPECT_EQ(ours.value(field, nlohmann::json("<missing>")), value) << what << "." << field;
  }
}

// CT leaves `format` null in a scheme; ours is the format CT infers on compression, except W4AFP8-like
// schemes (int weights, float inputs), which vLLM's kernel wants pack-quantized.
void expect_same_scheme(const nlohmann::json& ours, const nlohmann::json& reference, const std::string& what) {
  const nlohmann::json& scheme = reference["scheme"];
  EXPECT_EQ(ours["targets"], scheme["targets"]) << what;
  for (const char* field : {"weights", "input_activations", "output_activations"}) {
    expect_same_args(ours[field], scheme[field], what + ": " + field);
  }
  EXPECT_TRUE(scheme["format"].is_null()) << what;
  const bool w4afp8 = !scheme["weights"].is_null() && scheme["weights"]["type"] == "int" &&
                      !scheme["input_activations"].is_null() && scheme["input_activations"]["type"] == "float";
  if (w4afp8) {
    EXPECT_EQ(reference["format"], "int-quantized") << what;
    EXPECT_EQ(ours["format"], "pack-quantized") << what;
  } else {
    EXPECT_EQ(ours["format"], reference["format"]) << what;
  }
}

void expect_presets_match(const nlohmann::json& reference) {
  ASSERT_EQ(reference.size(), preset_names().size());
  for (std::string_view name : preset_names()) {
    SCOPED_TRACE(std::string(name));
    auto recipe = parse_recipe_string(recipe_with(fmt::format("scheme = \"{}\"", name)), "r.toml");
    ASSERT_TRUE(recipe) << recipe.error().message;
    expect_same_scheme(recipe->modifiers[0].groups.at(0).scheme, reference[std::string(name)], std::string(name));
  }
}

void expect_explicit_args_match(const nlohmann::json& reference) {
  ASSERT_EQ(reference.size(), std::size(kGroupCases));
  for (size_t i = 0; i < std::size(kGroupCases); ++i) {
    SCOPED_TRACE(kGroupCases[i]);
    auto recipe = parse_recipe_string(recipe_with(kGroupCases[i]), "r.toml");
    if (reference[i].contains("error")) {
      EXPECT_FALSE(recipe) << "the reference rejects it: " << reference[i]["error"].get<std::string>();
      continue;
    }
    ASSERT_TRUE(recipe) << recipe.error().message;
    expect_same_scheme(recipe->modifiers[0].groups.at(0).scheme, reference[i], kGroupCases[i]);
  }
}

void expect_kv_cache_schemes_match(const nlohmann::json& reference) {
  ASSERT_EQ(reference.size(), std::size(kKvCases));
  for (size_t i = 0; i < std::size(kKvCases); ++i) {
    SCOPED_TRACE(kKvCases[i]);
    auto recipe = parse_recipe_string(recipe_with(std::string("kv_cache_scheme = ") + kKvCases[i]), "r.toml");
    if (reference[i].contains("error")) {
      EXPECT_FALSE(recipe) << "the reference rejects it: " << reference[i]["error"].get<std::string>();
      continue;
    }
    ASSERT_TRUE(recipe) << recipe.error().message;
    expect_same_args(recipe->modifiers[0].kv_cache_scheme->args, reference[i]["args"], "kv_cache_scheme");
  }
}

// One test, so that ctest (one process per test) starts the reference once.
TEST(recipeReferenceSchemes, PresetsExplicitArgsAndKvCacheMatchTheReference) {
  const fs::path python = LLMC_PYTHON;
  ASSERT_TRUE(!python.empty() && fs::exists(python)) << "no reference Python (LLMC_PYTHON): run tools/setup.sh --reference";
  auto reference = run_reference(python);
  ASSERT_TRUE(reference) << reference.error().message;
  {
    SCOPED_TRACE("presets");
    expect_presets_match((*reference)["presets"]);
  }
  {
    SCOPED_TRACE("explicit args");
    expect_explicit_args_match((*reference)["groups"]);
  }
  {
    SCOPED_TRACE("kv_cache_scheme");
    expect_kv_cache_schemes_match((*reference)["kv_cache_schemes"]);
  }
}

}  // namespace
}  // namespace llmc::recipe
