// core/model/architecture_tables.cpp - the supported families, one row each. Tensor names are those
// transformers 5.17 save_pretrained writes (MoE experts unfused, one Linear per expert and projection).
// The AWQ / SmoothQuant mappings are LLM Compressor 0.14's registries (awq/mappings.py,
// smoothquant/utils.py) for the architecture; Mixtral has no AWQ entry there and gets the default.
#include "model/architecture.h"

namespace llmc::model {
namespace {

const std::vector<SmoothMapping> kAwqDefault = {
    {"re:.*input_layernorm$", {"re:.*q_proj$", "re:.*k_proj$", "re:.*v_proj$"}},
    {"re:.*v_proj$", {"re:.*o_proj$"}},
    {"re:.*post_attention_layernorm$", {"re:.*gate_proj$", "re:.*up_proj$"}},
    {"re:.*up_proj$", {"re:.*down_proj$"}},
};

// The MoE variant: the router and every expert's gate/up balance the post-attention norm.
const std::vector<SmoothMapping> kAwqMoe = {
    {"re:.*input_layernorm$", {"re:.*q_proj$", "re:.*k_proj$", "re:.*v_proj$"}},
    {"re:.*v_proj$", {"re:.*o_proj$"}},
    {"re:.*post_attention_layernorm$", {"re:.*mlp.gate$", "re:.*mlp.experts.*.gate_proj$", "re:.*mlp.experts.*.up_proj$"}},
    {"re:.*up_proj$", {"re:.*down_proj$"}},
};

const std::vector<SmoothMapping> kSmoothQuantDefault = {
    {"re:.*input_layernorm", {"re:.*q_proj", "re:.*k_proj", "re:.*v_proj"}},
    {"re:.*post_attention_layernorm", {"re:.*gate_proj", "re:.*up_proj"}},
};

// MoE: attention only (one MLP scale shared across experts hurt perplexity in the reference).
const std::vector<SmoothMapping> kSmoothQuantMixtral = {
    {"re:.*input_layernorm", {"re:.*q_proj", "re:.*k_proj", "re:.*v_proj"}},
};
const std::vector<SmoothMapping> kSmoothQuantQwenMoe = {
    {"re:.*input_layernorm$", {"re:.*q_proj$", "re:.*k_proj$", "re:.*v_proj$"}},
};

constexpr DenseMlpNames kLlamaMlp = {"model.layers.{layer}.mlp.gate_proj", "model.layers.{layer}.mlp.up_proj",
                                     "model.layers.{layer}.mlp.down_proj"};

// The Llama block: embedding, pre-norm attention and pre-norm MLP, final norm, head.
ArchitectureTable llama_like(std::vector<std::string_view> names, std::string_view model_type) {
  ArchitectureTable row;
  row.hf_architectures = std::move(names);
  row.model_type = model_type;
  row.embedding = "model.embed_tokens";
  row.final_norm = "model.norm";
  row.head = "lm_head";
  row.input_norm = "model.layers.{layer}.input_layernorm";
  row.post_attention_norm = "model.layers.{layer}.post_attention_layernorm";
  row.q = "model.layers.{layer}.self_attn.q_proj";
  row.k = "model.layers.{layer}.self_attn.k_proj";
  row.v = "model.layers.{layer}.self_attn.v_proj";
  row.o = "model.layers.{layer}.self_attn.o_proj";
  row.mlp = kLlamaMlp;
  row.awq_mappings = kAwqDefault;
  row.smoothquant_mappings = kSmoothQuantDefault;
  return row;
}

std::vector<ArchitectureTable> make_tables() {
  std::vector<ArchitectureTable> rows;

  ArchitectureTable llama = llama_like({"LlamaForCausalLM"}, "llama");
  llama.attention_bias = AttentionBias::from_config;
  rows.push_back(std::move(llama));

  ArchitectureTable mistral = llama_like({"MistralForCausalLM"}, "mistral");
  mistral.sliding_window_all_layers = true;
  rows.push_back(std::move(mistral));

  ArchitectureTable qwen2 = llama_like({"Qwen2ForCausalLM"}, "qwen2");
  qwen2.attention_bias = AttentionBias::qkv;
  rows.push_back(std::move(qwen2));

  ArchitectureTable qwen3 = llama_like({"Qwen3ForCausalLM"}, "qwen3");
  qwen3.attention_bias = AttentionBias::from_config;
  qwen3.q_norm = "model.layers.{layer}.self_attn.q_norm";
  qwen3.k_norm = "model.layers.{layer}.self_attn.k_norm";
  rows.push_back(std::move(qwen3));

  ArchitectureTable mixtral = llama_like({"MixtralForCausalLM"}, "mixtral");
  mixtral.sliding_window_all_layers = true;
  mixtral.moe = MoeNames{
      .router = "model.layers.{layer}.block_sparse_moe.gate",
      .expert = {"model.layers.{layer}.block_sparse_moe.experts.{expert}.w1",
                 "model.layers.{layer}.block_sparse_moe.experts.{expert}.w3",
                 "model.layers.{layer}.block_sparse_moe.experts.{expert}.w2"},
      .experts_keys = {"num_local_experts"},
      .intermediate_key = "intermediate_size",
      .renormalize = true,
      .dense_layers_from_config = false,
  };
  mixtral.smoothquant_mappings = kSmoothQuantMixtral;
  rows.push_back(std::move(mixtral));

  ArchitectureTable qwen3_moe = llama_like({"Qwen3MoeForCausalLM"}, "qwen3_moe");
  qwen3_moe.attention_bias = AttentionBias::from_config;
  qwen3_moe.q_norm = "model.layers.{layer}.self_attn.q_norm";
  qwen3_moe.k_norm = "model.layers.{layer}.self_attn.k_norm";
  qwen3_moe.moe = MoeNames{
      .router = "model.layers.{layer}.mlp.gate",
      .expert = {"model.layers.{layer}.mlp.experts.{expert}.gate_proj",
                 "model.layers.{layer}.mlp.experts.{expert}.up_proj",
                 "model.layers.{layer}.mlp.experts.{expert}.down_proj"},
      .experts_keys = {"num_local_experts", "num_experts"},
      .intermediate_key = "moe_intermediate_size",
      .renormalize = std::nullopt,
      .dense_layers_from_config = true,
  };
  qwen3_moe.awq_mappings = kAwqMoe;
  qwen3_moe.smoothquant_mappings = kSmoothQuantQwenMoe;
  rows.push_back(std::move(qwen3_moe));

  return rows;
}

}  // namespace

std::span<const ArchitectureTable> architecture_tables() {
  static const std::vector<ArchitectureTable> rows = make_tables();
  return rows;
}

}  // namespace llmc::model
