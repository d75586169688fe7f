// tests/unit/exec/architecture_test.cpp - table lookup and config.json reading (core/model/architecture).
#include <gtest/gtest.h>

#include "model/architecture.h"

namespace llmc::model {
namespace {

using nlohmann::json;

json llama_config() {
  return json{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 64},
              {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
              {"intermediate_size", 128}, {"vocab_size", 300}, {"rms_norm_eps", 1e-5}, {"hidden_act", "silu"},
              {"tie_word_embeddings", true}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 500000.0}}}};
}

TEST(Architecture, UnknownArchitectureListsTheSupportedOnes) {
  json config = llama_config();
  config["architectures"] = {"GPT2LMHeadModel"};
  config["model_type"] = "gpt2";
  auto found = find_architecture(config);
  ASSERT_FALSE(found);
  const std::string& message = found.error().message;
  EXPECT_NE(message.find("'GPT2LMHeadModel' is not supported"), std::string::npos) << message;
  for (const char* name : {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                           "MixtralForCausalLM", "Qwen3MoeForCausalLM"})
    EXPECT_NE(message.find(name), std::string::npos) << name << " missing from: " << message;
}

TEST(Architecture, FallsBackToModelType) {
  json config = llama_config();
  config["architectures"] = {"LlamaForSomethingElse"};
  config["model_type"] = "qwen3";
  auto found = find_architecture(config);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ((*found)->model_type, "qwen3");
  config.erase("architectures");
  config["model_type"] = "mistral";
  found = find_architecture(config);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ((*found)->model_type, "mistral");
}

TEST(Architecture, ResolvesLlamaHyperparameters) {
  auto arch = resolve_architecture(llama_config());
  ASSERT_TRUE(arch) << arch.error().message;
  EXPECT_EQ(arch->name, "LlamaForCausalLM");
  EXPECT_EQ(arch->head_dim, 16);
  EXPECT_EQ(arch->num_kv_heads, 2);
  EXPECT_TRUE(arch->tie_word_embeddings);
  EXPECT_FALSE(arch->attention_bias);
  EXPECT_DOUBLE_EQ(arch->norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(arch->rope.theta, 500000.0);
  EXPECT_EQ(arch->rope.type, RopeType::default_rope);
  ASSERT_EQ(arch->sliding_window.size(), 2u);
  EXPECT_FALSE(arch->sliding_window[0]);
  EXPECT_EQ(Architecture::name_of(arch->table->q, 7), "model.layers.7.self_attn.q_proj");
  EXPECT_EQ(arch->table->awq_mappings.size(), 4u);
  EXPECT_EQ(arch->table->awq_mappings[1].smooth_layer, "re:.*v_proj$");
  EXPECT_EQ(arch->table->smoothquant_mappings.size(), 2u);
}

TEST(Architecture, ReadsLegacyAndCurrentRopeConfigs) {
  json legacy = {{"rope_theta", 20000.0}, {"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}}};
  auto rope = read_rope_config(legacy);
  ASSERT_TRUE(rope) << rope.error().message;
  EXPECT_EQ(rope->type, RopeType::linear);
  EXPECT_DOUBLE_EQ(rope->theta, 20000.0);
  EXPECT_DOUBLE_EQ(rope->factor, 4.0);

  json llama3 = {{"max_position_embeddings", 4096},
                 {"rope_parameters", {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8.0},
                                      {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0}}}};
  rope = read_rope_config(llama3);
  ASSERT_TRUE(rope) << rope.error().message;
  EXPECT_EQ(rope->type, RopeType::llama3);
  EXPECT_EQ(rope->original_max_position, 4096);  // falls back to max_position_embeddings, as transformers does

  json missing_factor = {{"rope_parameters", {{"rope_type", "linear"}}}};
  rope = read_rope_config(missing_factor);
  ASSERT_FALSE(rope);
  EXPECT_NE(rope.error().message.find("\"factor\""), std::string::npos) << rope.error().message;
}

TEST(Architecture, RejectsWhatItDoesNotImplement) {
  json yarn = llama_config();
  yarn["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"rope_theta", 10000.0}};
  auto arch = resolve_architecture(yarn);
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("rope_type 'yarn' is not implemented; supported: default, linear, llama3, dynamic"),
            std::string::npos)
      << arch.error().message;

  json gelu = llama_config();
  gelu["hidden_act"] = "gelu";
  arch = resolve_architecture(gelu);
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("hidden_act"), std::string::npos) << arch.error().message;

  json partial = llama_config();
  partial["partial_rotary_factor"] = 0.5;
  EXPECT_FALSE(resolve_architecture(partial));

  json qwen2_window = llama_config();
  qwen2_window["architectures"] = {"Qwen2ForCausalLM"};
  qwen2_window["use_sliding_window"] = true;
  qwen2_window["sliding_window"] = 8;
  arch = resolve_architecture(qwen2_window);
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("use_sliding_window"), std::string::npos) << arch.error().message;

  json bad_gqa = llama_config();
  bad_gqa["num_key_value_heads"] = 3;
  arch = resolve_architecture(bad_gqa);
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("num_key_value_heads"), std::string::npos) << arch.error().message;
}

TEST(Architecture, ReadsMoeLayoutAndSlidingWindows) {
  json qwen3_moe = llama_config();
  qwen3_moe["architectures"] = {"Qwen3MoeForCausalLM"};
  qwen3_moe["num_hidden_layers"] = 4;
  qwen3_moe["num_experts"] = 8;
  qwen3_moe["num_experts_per_tok"] = 2;
  qwen3_moe["moe_intermediate_size"] = 32;
  qwen3_moe["norm_topk_prob"] = true;
  qwen3_moe["mlp_only_layers"] = {0};
  qwen3_moe["decoder_sparse_step"] = 2;
  qwen3_moe["sliding_window"] = 8;
  qwen3_moe["layer_types"] = {"full_attention", "sliding_attention", "full_attention", "full_attention"};
  auto arch = resolve_architecture(qwen3_moe);
  ASSERT_TRUE(arch) << arch.error().message;
  EXPECT_EQ(arch->num_experts, 8);
  EXPECT_EQ(arch->expert_intermediate_size, 32);
  EXPECT_TRUE(arch->renormalize_top_k);
  EXPECT_EQ(arch->moe_layer, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(arch->sliding_window[1], 8);
  EXPECT_FALSE(arch->sliding_window[0]);
  EXPECT_EQ(Architecture::name_of(arch->table->moe->expert.down, 3, 5), "model.layers.3.mlp.experts.5.down_proj");

  json mixtral = llama_config();
  mixtral["architectures"] = {"MixtralForCausalLM"};
  mixtral["num_local_experts"] = 4;
  mixtral["num_experts_per_tok"] = 2;
  mixtral["sliding_window"] = 16;
  arch = resolve_architecture(mixtral);
  ASSERT_TRUE(arch) << arch.error().message;
  EXPECT_TRUE(arch->renormalize_top_k);
  EXPECT_EQ(arch->sliding_window, (std::vector<std::optional<int64_t>>{16, 16}));
  EXPECT_EQ(arch->table->smoothquant_mappings.size(), 1u);

  mixtral["num_experts_per_tok"] = 5;
  EXPECT_FALSE(resolve_architecture(mixtral));
}

}  // namespace
}  // namespace llmc::model
