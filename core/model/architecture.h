// core/model/architecture.h - decoder-only architectures as data: a table row per family (tensor names,
// block structure, options, AWQ/SmoothQuant mappings) and the hyperparameters a config.json gives it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/expected.h"

namespace llmc::model {

enum class NormKind { rms_norm };  // x * rsqrt(mean(x^2) + eps) * weight, computed in float32
enum class Activation { silu };
enum class RopeType { default_rope, linear, llama3, dynamic };

/// Which attention projections carry a bias.
enum class AttentionBias {
  none,
  qkv,          // q, k and v always (Qwen2)
  from_config,  // q, k, v and o when config.json's "attention_bias" is true (Llama, Qwen3)
};

/// One smoothing mapping of the reference: the output of `smooth_layer` is the input of every
/// `balance_layers` entry. Strings are the reference's target syntax ("re:" = regex from the start).
struct SmoothMapping {
  std::string_view smooth_layer;
  std::vector<std::string_view> balance_layers;
};

/// Module names (tensor names without ".weight"/".bias"); `{layer}` and `{expert}` are placeholders.
struct DenseMlpNames {
  std::string_view gate, up, down;
};

struct MoeNames {
  std::string_view router;        // Linear [experts, hidden]
  DenseMlpNames expert;           // per expert, with {expert}
  /// config.json keys of the expert count, the first present wins (transformers 5 writes
  /// "num_local_experts" for every MoE family; older Qwen-MoE configs "num_experts").
  std::vector<std::string_view> experts_keys;
  std::string_view intermediate_key;  // config.json key of an expert's intermediate size
  /// Renormalize the top-k routing weights: nullopt = read config.json's "norm_topk_prob".
  std::optional<bool> renormalize;
  /// Layers listed in "mlp_only_layers" or off the "decoder_sparse_step" run the dense MLP (Qwen-MoE).
  bool dense_layers_from_config;
};

/// One table row: everything generic code needs to run a family. Adding a Llama-like model is one row.
struct ArchitectureTable {
  std::vector<std::string_view> hf_architectures;  // config.json "architectures" names
  std::string_view model_type;                     // config.json "model_type"
  std::string_view embedding, final_norm, head;
  std::string_view input_norm, post_attention_norm;  // with {layer}
  std::string_view q, k, v, o;                       // with {layer}
  std::optional<std::string_view> q_norm, k_norm;    // per-head RMSNorm on q and k before rope (Qwen3)
  DenseMlpNames mlp;                                 // the dense MLP (with {layer})
  std::optional<MoeNames> moe;                       // a sparse MoE block replaces the MLP
  AttentionBias attention_bias = AttentionBias::none;
  NormKind norm = NormKind::rms_norm;
  Activation activation = Activation::silu;
  /// "sliding_window" applies to every layer (Mistral, Mixtral); otherwise only to the layers that
  /// "layer_types" marks "sliding_attention" (Qwen2/3).
  bool sliding_window_all_layers = false;
  std::vector<SmoothMapping> awq_mappings;
  std::vector<SmoothMapping> smoothquant_mappings;
};

struct RopeConfig {
  RopeType type = RopeType::default_rope;
  double theta = 10000.0;
  double factor = 1.0;                    // linear, llama3, dynamic
  double low_freq_factor = 1.0;           // llama3
  double high_freq_factor = 4.0;          // llama3
  int64_t original_max_position = 0;      // llama3; dynamic: max_position_embeddings
};

/// A table row with the hyperparameters of one checkpoint's config.json.
struct Architecture {
  const ArchitectureTable* table = nullptr;
  std::string name;  // the HF architecture name that selected the row
  int64_t hidden_size = 0, num_layers = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0;
  int64_t intermediate_size = 0, vocab_size = 0;
  double norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v (and o for from_config) carry a bias
  std::vector<std::optional<int64_t>> sliding_window;  // per layer; nullopt = full causal attention
  // MoE (table->moe set)
  int64_t num_experts = 0, top_k = 0, expert_intermediate_size = 0;
  bool renormalize_top_k = false;
  std::vector<bool> moe_layer;  // per layer: the MoE block (true) or the dense MLP

  /// `pattern` with {layer} and {expert} filled in.
  static std::string name_of(std::string_view pattern, int64_t layer, int64_t expert = -1);
};

/// Every table row, in a fixed order.
std::span<const ArchitectureTable> architecture_tables();

/// The row for config.json's architectures[0] (fallback: model_type); the error lists the supported names.
Expected<const ArchitectureTable*> find_architecture(const nlohmann::json& config);

/// The row and the hyperparameters of config.json; errors name the key, and options that the generic code
/// does not implement (rope types, partial rotary, MLP bias, ...) are errors, not ignored.
Expected<Architecture> resolve_architecture(const nlohmann::json& config);

/// The rope settings of config.json: transformers 5 "rope_parameters", else legacy "rope_theta" and
/// "rope_scaling".
Expected<RopeConfig> read_rope_config(const nlohmann::json& config);

}  // namespace llmc::model
