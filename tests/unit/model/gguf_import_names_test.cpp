// tests/unit/model/gguf_import_names_test.cpp - GGUF tensor names -> Hugging Face names, and the row order
// llama.cpp's converter permuted in attn_q/attn_k.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "gguf_import_fixtures.h"
#include "model/gguf_tensor_names.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::open_gguf_import_fixture;

GgufModelConfig llama_config() {
  GgufModelConfig config;
  config.architecture = find_gguf_architecture("llama");
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 16;
  config.hidden_size = 64;
  config.intermediate_size = 96;
  config.vocab_size = 268;
  config.tie_word_embeddings = true;
  return config;
}

TEST(GgufTensorNamesTest, MapsLlamaNames) {
  const GgufModelConfig config = llama_config();
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
      {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
      {"blk.1.attn_v.weight", "model.layers.1.self_attn.v_proj.weight"},
      {"blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight"},
      {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
      {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"},
      {"blk.1.ffn_up.weight", "model.layers.1.mlp.up_proj.weight"},
      {"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight"},
  };
  for (const auto& [gguf, hf] : cases) {
    auto target = hf_tensor_target("m.gguf", gguf, config);
    ASSERT_TRUE(target.has_value()) << target.error().message;
    EXPECT_EQ(target->name, hf);
    EXPECT_EQ(target->permuted_heads, 0) << gguf;
  }
}

TEST(GgufTensorNamesTest, ShapesFollowTheConfig) {
  const GgufModelConfig config = llama_config();
  const std::pair<std::string_view, std::vector<int64_t>> cases[] = {
      {"token_embd.weight", {268, 64}}, {"output_norm.weight", {64}},       {"blk.0.attn_v.weight", {32, 64}},
      {"blk.0.attn_output.weight", {64, 64}}, {"blk.1.ffn_gate.weight", {96, 64}}, {"blk.1.ffn_down.weight", {64, 96}},
  };
  for (const auto& [gguf, shape] : cases) {
    auto target = hf_tensor_target("m.gguf", gguf, config);
    ASSERT_TRUE(target.has_value()) << target.error().message;
    EXPECT_EQ(target->shape, shape) << gguf;
  }
}

TEST(GgufTensorNamesTest, LlamaQueryAndKeyArePermutedOverTheirHeads) {
  const GgufModelConfig config = llama_config();
  auto q = hf_tensor_target("m.gguf", "blk.1.attn_q.weight", config);
  auto k = hf_tensor_target("m.gguf", "blk.1.attn_k.weight", config);
  ASSERT_TRUE(q.has_value() && k.has_value());
  EXPECT_EQ(q->name, "model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(q->permuted_heads, 4);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(k->name, "model.layers.1.self_attn.k_proj.weight");
  EXPECT_EQ(k->permuted_heads, 2);
  EXPECT_EQ(k->shape, (std::vector<int64_t>{32, 64}));
}

TEST(GgufTensorNamesTest, QwenIsNotPermutedAndHasBiasesOrNorms) {
  GgufModelConfig config = llama_config();
  config.architecture = find_gguf_architecture("qwen2");
  auto bias = hf_tensor_target("m.gguf", "blk.0.attn_q.bias", config);
  ASSERT_TRUE(bias.has_value()) << bias.error().message;
  EXPECT_EQ(bias->name, "model.layers.0.self_attn.q_proj.bias");
  EXPECT_EQ(bias->permuted_heads, 0);
  EXPECT_FALSE(hf_tensor_target("m.gguf", "blk.0.attn_q_norm.weight", config).has_value());
  config.architecture = find_gguf_architecture("qwen3");
  auto norm = hf_tensor_target("m.gguf", "blk.0.attn_k_norm.weight", config);
  ASSERT_TRUE(norm.has_value()) << norm.error().message;
  EXPECT_EQ(norm->name, "model.layers.0.self_attn.k_norm.weight");
  EXPECT_FALSE(hf_tensor_target("m.gguf", "blk.0.attn_q.bias", config).has_value());
}

TEST(GgufTensorNamesTest, UnknownNamesAndLayersPastTheEndAreErrors) {
  const GgufModelConfig config = llama_config();
  for (const std::string_view name : {"rope_freqs.weight", "blk.2.attn_q.weight", "blk.x.attn_q.weight",
                                      "blk.0.attn_qkv.weight", "blk.0.attn_q.bias"}) {
    auto target = hf_tensor_target("m.gguf", name, config);
    ASSERT_FALSE(target.has_value()) << name;
    EXPECT_THAT(target.error().message, AllOf(HasSubstr("m.gguf"), HasSubstr(fmt::format("'{}'", name)),
                                              HasSubstr("architecture 'llama'")));
  }
}

TEST(GgufTensorNamesTest, ExpectedNamesFollowTheConfig) {
  GgufModelConfig config = llama_config();
  auto names = expected_hf_tensor_names(config);
  EXPECT_EQ(names.size(), 1 + 2 * 9 + 1u);  // embedding, 9 per layer, final norm; tied: no lm_head
  EXPECT_EQ(std::count(names.begin(), names.end(), "lm_head.weight"), 0);
  config.tie_word_embeddings = false;
  config.architecture = find_gguf_architecture("qwen2");
  names = expected_hf_tensor_names(config);
  EXPECT_EQ(names.size(), 1 + 2 * 12 + 2u);  // + q/k/v biases, + lm_head
  EXPECT_NE(std::find(names.begin(), names.end(), "model.layers.1.self_attn.v_proj.bias"), names.end());
}

// llama.cpp's permute(w, n_head): w.reshape(n_head, 2, rows / n_head / 2, ...).swapaxes(1, 2): within a head,
// Hugging Face row (half, i) lands on GGUF row (i, half). Spelled out for 2 heads of 6 rows.
TEST(GgufTensorNamesTest, RowOrderInvertsLlamaCppPermute) {
  const int64_t expected[] = {0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11};
  for (int64_t row = 0; row < 12; ++row) EXPECT_EQ(gguf_row_of_hf_row(row, 12, 2), expected[row]) << row;
}

TEST(GgufTensorNamesTest, RowOrderIsAPermutation) {
  std::vector<int64_t> rows(64 * 9);
  for (size_t r = 0; r < rows.size(); ++r)
    rows[r] = gguf_row_of_hf_row(static_cast<int64_t>(r), static_cast<int64_t>(rows.size()), 9);
  std::sort(rows.begin(), rows.end());
  std::vector<int64_t> identity(rows.size());
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(rows, identity);
}

}  // namespace
}  // namespace llmc::model
