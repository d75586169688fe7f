// tests/unit/model/gguf_import_config_test.cpp - GGUF metadata -> GgufModelConfig -> config.json and
// generation_config.json, on the tiny models of make_gguf_import_fixtures.py, and errors naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gguf_import_fixtures.h"
#include "model/gguf_config.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::open_gguf_import_fixture;

TEST(GgufConfigTest, ReadsLlamaHyperparametersAndSpecialIds) {
  auto file = open_gguf_import_fixture("llama.gguf");
  ASSERT_TRUE(file);
  auto config = read_gguf_model_config(*file);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->architecture->gguf_name, "llama");
  EXPECT_EQ(config->num_layers, 2);
  EXPECT_EQ(config->hidden_size, 64);
  EXPECT_EQ(config->intermediate_size, 96);
  EXPECT_EQ(config->num_heads, 4);
  EXPECT_EQ(config->num_kv_heads, 2);
  EXPECT_EQ(config->head_dim, 16);
  EXPECT_EQ(config->context_length, 256);
  EXPECT_EQ(config->vocab_size, 268);  // 3 control + 256 bytes + 8 merges + 1 user-defined
  EXPECT_EQ(config->rope_theta, 500000.0);
  EXPECT_EQ(config->rms_norm_eps, static_cast<double>(1e-6f));  // stored as FLOAT32
  EXPECT_TRUE(config->tie_word_embeddings);                     // no output.weight
  EXPECT_FALSE(config->attention_bias);
  EXPECT_EQ(config->bos_token_id, 1);
  EXPECT_EQ(config->eos_token_id, 2);
  EXPECT_EQ(config->pad_token_id, 2);
  EXPECT_EQ(config->unk_token_id, 0);
}

TEST(GgufConfigTest, WritesLlamaConfigAsTransformers) {
  auto file = open_gguf_import_fixture("llama.gguf");
  ASSERT_TRUE(file);
  auto config = read_gguf_model_config(*file);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  const nlohmann::json json = hf_config(*config);
  EXPECT_EQ(json["architectures"], nlohmann::json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(json["model_type"], "llama");
  EXPECT_EQ(json["dtype"], "bfloat16");
  EXPECT_EQ(json["max_position_embeddings"], 256);
  EXPECT_EQ(json["head_dim"], 16);
  EXPECT_EQ(json["num_key_value_heads"], 2);
  EXPECT_EQ(json["rope_parameters"], (nlohmann::json{{"rope_theta", 500000.0}, {"rope_type", "default"}}));
  EXPECT_FALSE(json.contains("rope_theta"));  // transformers 5 moved it into rope_parameters
  EXPECT_EQ(json["tie_word_embeddings"], true);
  EXPECT_EQ(json["attention_bias"], false);
  EXPECT_EQ(json["bos_token_id"], 1);
  EXPECT_EQ(json["eos_token_id"], 2);
  EXPECT_EQ(json["pad_token_id"], 2);
  EXPECT_EQ(json["hidden_act"], "silu");
  const nlohmann::json generation = hf_generation_config(*config);
  EXPECT_EQ(generation["bos_token_id"], 1);
  EXPECT_EQ(generation["eos_token_id"], 2);
  EXPECT_EQ(generation["pad_token_id"], 2);
}

TEST(GgufConfigTest, QwenConfigsFollowTheirClasses) {
  auto qwen2 = open_gguf_import_fixture("qwen2.gguf");
  auto qwen3 = open_gguf_import_fixture("qwen3.gguf");
  ASSERT_TRUE(qwen2 && qwen3);
  auto config2 = read_gguf_model_config(*qwen2);
  auto config3 = read_gguf_model_config(*qwen3);
  ASSERT_TRUE(config2.has_value()) << config2.error().message;
  ASSERT_TRUE(config3.has_value()) << config3.error().message;
  const nlohmann::json json2 = hf_config(*config2);
  EXPECT_EQ(json2["architectures"], nlohmann::json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(json2["tie_word_embeddings"], false);  // the file has output.weight
  EXPECT_FALSE(json2.contains("attention_bias"));  // Qwen2 always has q/k/v biases
  EXPECT_FALSE(json2.contains("head_dim"));
  const nlohmann::json json3 = hf_config(*config3);
  EXPECT_EQ(json3["architectures"], nlohmann::json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(json3["head_dim"], 16);
  EXPECT_EQ(json3["attention_bias"], false);
  EXPECT_EQ(json3["layer_types"], nlohmann::json::array({"full_attention", "full_attention"}));
}

TEST(GgufConfigTest, UnknownArchitectureNamesTheKeyAndTheSupportedOnes) {
  auto file = open_gguf_import_fixture("bad_architecture.gguf");
  ASSERT_TRUE(file);
  auto config = read_gguf_model_config(*file);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, AllOf(HasSubstr("bad_architecture.gguf"), HasSubstr("'general.architecture'"),
                                            HasSubstr("'falcon'"), HasSubstr("llama, qwen2, qwen3")));
}

TEST(GgufConfigTest, MissingRequiredKeyIsNamed) {
  auto file = open_gguf_import_fixture("bad_missing_key.gguf");
  ASSERT_TRUE(file);
  auto config = read_gguf_model_config(*file);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message,
              AllOf(HasSubstr("bad_missing_key.gguf"), HasSubstr("'llama.block_count' is missing")));
}

}  // namespace
}  // namespace llmc::model
