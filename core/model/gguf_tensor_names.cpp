// core/model/gguf_tensor_names.cpp
#include "model/gguf_tensor_names.h"

#include <array>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace llmc::model {
namespace {

// The sizes a tensor's dimensions take, in torch order.
enum class Size { vocab, hidden, ffn, q_rows, kv_rows, head_dim };

struct NameRow {
  std::string_view gguf;  // after "blk.N." for layer tensors
  std::string_view hf;    // after "model.layers.N." for layer tensors
  std::array<std::optional<Size>, 2> shape;
};

constexpr std::array kGlobalNames = {
    NameRow{"token_embd.weight", "model.embed_tokens.weight", {Size::vocab, Size::hidden}},
    NameRow{"output_norm.weight", "model.norm.weight", {Size::hidden, {}}},
    NameRow{"output.weight", "lm_head.weight", {Size::vocab, Size::hidden}},
};

constexpr std::array kLayerNames = {
    NameRow{"attn_norm.weight", "input_layernorm.weight", {Size::hidden, {}}},
    NameRow{"attn_q.weight", "self_attn.q_proj.weight", {Size::q_rows, Size::hidden}},
    NameRow{"attn_k.weight", "self_attn.k_proj.weight", {Size::kv_rows, Size::hidden}},
    NameRow{"attn_v.weight", "self_attn.v_proj.weight", {Size::kv_rows, Size::hidden}},
    NameRow{"attn_q.bias", "self_attn.q_proj.bias", {Size::q_rows, {}}},
    NameRow{"attn_k.bias", "self_attn.k_proj.bias", {Size::kv_rows, {}}},
    NameRow{"attn_v.bias", "self_attn.v_proj.bias", {Size::kv_rows, {}}},
    NameRow{"attn_q_norm.weight", "self_attn.q_norm.weight", {Size::head_dim, {}}},
    NameRow{"attn_k_norm.weight", "self_attn.k_norm.weight", {Size::head_dim, {}}},
    NameRow{"attn_output.weight", "self_attn.o_proj.weight", {Size::hidden, Size::q_rows}},
    NameRow{"attn_output.bias", "self_attn.o_proj.bias", {Size::hidden, {}}},
    NameRow{"ffn_norm.weight", "post_attention_layernorm.weight", {Size::hidden, {}}},
    NameRow{"ffn_gate.weight", "mlp.gate_proj.weight", {Size::ffn, Size::hidden}},
    NameRow{"ffn_up.weight", "mlp.up_proj.weight", {Size::ffn, Size::hidden}},
    NameRow{"ffn_down.weight", "mlp.down_proj.weight", {Size::hidden, Size::ffn}},
};

int64_t size_of(Size size, const GgufModelConfig& config) {
  switch (size) {
    case Size::vocab: return config.vocab_size;
    case Size::hidden: return config.hidden_size;
    case Size::ffn: return config.intermediate_size;
    case Size::q_rows: return config.num_heads * config.head_dim;
    case Size::kv_rows: return config.num_kv_heads * config.head_dim;
    case Size::head_dim: return config.head_dim;
  }
  return 0;
}

std::vector<int64_t> shape_of(const NameRow& row, const GgufModelConfig& config) {
  std::vector<int64_t> shape;
  for (const auto& size : row.shape)
    if (size) shape.push_back(size_of(*size, config));
  return shape;
}

bool is_bias(std::string_view suffix) { return suffix.ends_with(".bias"); }
bool is_qk_norm(std::string_view suffix) { return suffix.starts_with("attn_q_norm") || suffix.starts_with("attn_k_norm"); }

// Whether the architecture (with this config) has the layer tensor `suffix`.
// Llama and Qwen3 give all four projections a bias when attention_bias is set; Qwen2 has q/k/v biases always
// and none on o_proj.
bool layer_has(const GgufModelConfig& config, std::string_view suffix) {
  if (suffix == "attn_output.bias") return !config.architecture->qkv_bias && config.attention_bias;
  if (is_bias(suffix)) return config.architecture->qkv_bias || config.attention_bias;
  if (is_qk_norm(suffix)) return config.architecture->qk_norm;
  return true;
}

Error no_counterpart(const std::filesystem::path& file, std::string_view gguf_name, const GgufModelConfig& config,
                     std::string_view why) {
  return Error{fmt::format("{}: the tensor '{}' has no Hugging Face counterpart in architecture '{}' ({})",
                           file.string(), gguf_name, config.architecture->gguf_name, why)};
}

}  // namespace

Expected<HfTensorTarget> hf_tensor_target(const std::filesystem::path& file, std::string_view gguf_name,
                                          const GgufModelConfig& config) {
  for (const auto& row : kGlobalNames) {
    if (gguf_name == row.gguf) return HfTensorTarget{std::string(row.hf), shape_of(row, config), 0};
  }
  constexpr std::string_view kBlock = "blk.";
  if (!gguf_name.starts_with(kBlock)) return no_counterpart(file, gguf_name, config, "unknown name");
  const std::string_view rest = gguf_name.substr(kBlock.size());
  const size_t dot = rest.find('.');
  int64_t layer = -1;
  const auto parsed = std::from_chars(rest.data(), rest.data() + (dot == std::string_view::npos ? 0 : dot), layer);
  if (dot == std::string_view::npos || dot == 0 || parsed.ptr != rest.data() + dot)
    return no_counterpart(file, gguf_name, config, "malformed layer index");
  if (layer < 0 || layer >= config.num_layers)
    return no_counterpart(file, gguf_name, config,
                          fmt::format("layer {} is past block_count {}", layer, config.num_layers));
  const std::string_view suffix = rest.substr(dot + 1);
  for (const auto& row : kLayerNames) {
    if (suffix != row.gguf) continue;
    if (!layer_has(config, suffix)) return no_counterpart(file, gguf_name, config, "the class has no such tensor");
    HfTensorTarget target{fmt::format("model.layers.{}.{}", layer, row.hf), shape_of(row, config), 0};
    if (config.architecture->permuted_qk) {
      if (suffix.starts_with("attn_q.")) target.permuted_heads = config.num_heads;
      if (suffix.starts_with("attn_k.")) target.permuted_heads = config.num_kv_heads;
    }
    return target;
  }
  return no_counterpart(file, gguf_name, config, "unknown name");
}

std::vector<std::string> expected_hf_tensor_names(const GgufModelConfig& config) {
  std::vector<std::string> names = {"model.embed_tokens.weight"};
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    for (const auto& row : kLayerNames) {
      if (layer_has(config, row.gguf)) names.push_back(fmt::format("model.layers.{}.{}", layer, row.hf));
    }
  }
  names.emplace_back("model.norm.weight");
  if (!config.tie_word_embeddings) names.emplace_back("lm_head.weight");
  return names;
}

int64_t gguf_row_of_hf_row(int64_t hf_row, int64_t rows, int64_t heads) {
  const int64_t head_rows = rows / heads;
  const int64_t half = head_rows / 2;
  const int64_t head = hf_row / head_rows;
  const int64_t within = hf_row % head_rows;
  const int64_t which_half = within / half;
  const int64_t pair = within % half;
  return head * head_rows + pair * 2 + which_half;
}

}  // namespace llmc::model
