// tests/unit/model/module_map_test.cpp - modules from tensor names, checked against the torch modules of
// tiny transformers models (Llama, Qwen2 with q/k/v bias, Qwen3 with q_norm/k_norm).
#include "model/module_map.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace llmc::model {
namespace {

TEST(ModuleMapTest, ClassifiesAndOrdersModules) {
  const std::vector<int64_t> matrix = {4, 4}, vector = {4}, scalar = {};
  const std::vector<TensorShape> tensors = {
      {"lm_head.weight", matrix},
      {"model.layers.10.mlp.down_proj.weight", matrix},
      {"model.layers.2.self_attn.q_proj.bias", vector},
      {"model.layers.2.self_attn.q_proj.weight", matrix},
      {"model.layers.2.self_attn.rotary_emb.inv_freq", vector},
      {"model.layers.2.input_layernorm.weight", vector},
      {"model.embed_tokens.weight", matrix},
      {"model.norm.weight", vector},
      {"model.norm.bias", vector},
      {"transformer.h.3.attn.c_attn.weight", matrix},
      {"transformer.wte.weight", matrix},
      {"logit_scale", scalar},
  };
  const ModuleMap map = build_module_map(tensors);
  std::vector<std::string> names;
  for (const auto& module : map.modules) names.push_back(module.name);
  // Submodules in transformers' definition order (self_attn before the layer norms, model before lm_head).
  EXPECT_EQ(names, (std::vector<std::string>{
                       "model.embed_tokens", "transformer.wte", "model.layers.2.self_attn.q_proj",
                       "model.layers.2.self_attn.rotary_emb", "model.layers.2.input_layernorm",
                       "transformer.h.3.attn.c_attn", "model.layers.10.mlp.down_proj", "model.norm", "lm_head",
                       ""}));

  const ModuleEntry* q = map.find("model.layers.2.self_attn.q_proj");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->kind, LLMC_MODULE_LINEAR);
  EXPECT_EQ(q->layer_index, 2);
  EXPECT_EQ(q->class_names, std::vector<std::string>{"Linear"});
  EXPECT_EQ(q->tensors.at("bias"), "model.layers.2.self_attn.q_proj.bias");
  EXPECT_EQ(map.find("model.embed_tokens")->kind, LLMC_MODULE_EMBEDDING);
  EXPECT_EQ(map.find("transformer.wte")->class_names, std::vector<std::string>{"Embedding"});
  EXPECT_EQ(map.find("model.layers.2.input_layernorm")->class_names, std::vector<std::string>{"RMSNorm"});
  EXPECT_EQ(map.find("model.norm")->class_names, std::vector<std::string>{"LayerNorm"});
  EXPECT_EQ(map.find("model.norm")->layer_index, -1);
  EXPECT_EQ(map.find("transformer.h.3.attn.c_attn")->layer_index, 3);
  const ModuleEntry* rotary = map.find("model.layers.2.self_attn.rotary_emb");
  EXPECT_EQ(rotary->kind, LLMC_MODULE_OTHER);
  EXPECT_TRUE(rotary->class_names.empty());
  EXPECT_EQ(rotary->tensors.at("inv_freq"), "model.layers.2.self_attn.rotary_emb.inv_freq");
  EXPECT_EQ(map.find("")->tensors.at("logit_scale"), "logit_scale");
  EXPECT_EQ(layer_index_of("model.blocks.7.ffn"), 7);
  EXPECT_EQ(layer_index_of("model.layers.x.ffn"), -1);
}

class TransformersModuleMapTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformersModuleMapTest, MatchesTheTorchModules) {
  const auto fixtures = testing::python_fixtures();
  ASSERT_FALSE(fixtures.empty());
  const auto dir = fixtures / "models" / GetParam();
  auto checkpoint = Checkpoint::open(dir);
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
  const auto expected = nlohmann::json::parse(testing::read_file(dir / "modules.json"));
  const ModuleMap map = build_module_map(*checkpoint);

  ASSERT_EQ(map.modules.size(), expected.size());
  size_t tensors = 0;
  int32_t last_layer = -1;
  for (const ModuleEntry& module : map.modules) {
    ASSERT_TRUE(expected.contains(module.name)) << module.name;
    const std::string torch_class = expected[module.name];
    ASSERT_EQ(module.class_names.size(), 1u) << module.name;
    EXPECT_TRUE(torch_class.ends_with(module.class_names[0])) << module.name << " is a " << torch_class;
    if (module.layer_index >= 0) {
      EXPECT_GE(module.layer_index, last_layer) << module.name;
      last_layer = module.layer_index;
    }
    tensors += module.tensors.size();
  }
  EXPECT_EQ(tensors, checkpoint->tensor_names().size());
  EXPECT_EQ(map.modules.front().name, "model.embed_tokens");
  EXPECT_EQ(last_layer, 1);
  if (GetParam() == "qwen2") {
    EXPECT_TRUE(map.find("model.layers.0.self_attn.k_proj")->tensors.contains("bias"));
    const ModuleEntry* tied_head = map.find("lm_head");  // tie_word_embeddings: listed, owning no tensor
    ASSERT_NE(tied_head, nullptr);
    EXPECT_EQ(tied_head->kind, LLMC_MODULE_LINEAR);
    EXPECT_TRUE(tied_head->tensors.empty());
  }
  if (GetParam() == "qwen3") {
    EXPECT_EQ(map.find("model.layers.1.self_attn.q_norm")->kind, LLMC_MODULE_NORM);
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, TransformersModuleMapTest, ::testing::Values("llama", "qwen2", "qwen3"));

}  // namespace
}  // namespace llmc::model
