// core/model/architecture.cpp - selecting a table row by config.json and reading its hyperparameters.
#include "model/architecture.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace llmc::model {
namespace {

using nlohmann::json;

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(std::string(key));
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

Expected<int64_t> read_int(const json& config, std::string_view key) {
  const json* value = member(config, key);
  if (!value) return Error{fmt::format("config.json: missing \"{}\"", key)};
  if (!value->is_number_integer() || value->get<int64_t>() <= 0)
    return Error{fmt::format("config.json: \"{}\" must be a positive integer, got {}", key, value->dump())};
  return value->get<int64_t>();
}

Expected<double> read_number(const json& object, std::string_view where, std::string_view key,
                             std::optional<double> fallback) {
  const json* value = member(object, key);
  if (!value) {
    if (fallback) return *fallback;
    return Error{fmt::format("config.json: missing \"{}\"{}", key, where)};
  }
  if (!value->is_number()) return Error{fmt::format("config.json: \"{}\"{} must be a number, got {}", key, where, value->dump())};
  return value->get<double>();
}

Expected<bool> read_bool(const json& config, std::string_view key, bool fallback) {
  const json* value = member(config, key);
  if (!value) return fallback;
  if (!value->is_boolean()) return Error{fmt::format("config.json: \"{}\" must be a boolean, got {}", key, value->dump())};
  return value->get<bool>();
}

std::vector<std::string_view> supported_names() {
  std::vector<std::string_view> names;
  for (const auto& row : architecture_tables()) names.insert(names.end(), row.hf_architectures.begin(), row.hf_architectures.end());
  return names;
}

Status check_unsupported(const json& config) {
  if (const json* act = member(config, "hidden_act"); act && *act != "silu")
    return Error{fmt::format("config.json: \"hidden_act\" {} is not implemented (only \"silu\")", act->dump())};
  auto mlp_bias = read_bool(config, "mlp_bias", false);
  LLMC_TRY(mlp_bias);
  if (*mlp_bias) return Error{"config.json: \"mlp_bias\": true is not implemented"};
  return Status::ok();
}

Status read_sliding_window(const json& config, const ArchitectureTable& table, Architecture& arch) {
  std::optional<int64_t> window;
  if (member(config, "sliding_window")) {
    auto value = read_int(config, "sliding_window");
    LLMC_TRY(value);
    window = *value;
  }
  arch.sliding_window.assign(static_cast<size_t>(arch.num_layers), std::nullopt);
  if (table.sliding_window_all_layers) {
    std::fill(arch.sliding_window.begin(), arch.sliding_window.end(), window);
    return Status::ok();
  }
  const json* layer_types = member(config, "layer_types");
  if (!layer_types) {
    auto legacy = read_bool(config, "use_sliding_window", false);  // pre-"layer_types" Qwen2 configs
    LLMC_TRY(legacy);
    if (*legacy) return Error{"config.json: \"use_sliding_window\": true without \"layer_types\" is not implemented"};
    return Status::ok();
  }
  if (!layer_types->is_array() || std::ssize(*layer_types) != arch.num_layers)
    return Error{fmt::format("config.json: \"layer_types\" must list {} layer types, got {}", arch.num_layers, layer_types->dump())};
  for (int64_t i = 0; i < arch.num_layers; ++i) {
    const json& type = (*layer_types)[static_cast<size_t>(i)];
    if (type == "full_attention") continue;
    if (type != "sliding_attention")
      return Error{fmt::format("config.json: \"layer_types\"[{}] = {} is not implemented (full_attention, sliding_attention)",
                               i, type.dump())};
    if (!window) return Error{fmt::format("config.json: layer {} is \"sliding_attention\" but \"sliding_window\" is not set", i)};
    arch.sliding_window[static_cast<size_t>(i)] = window;
  }
  return Status::ok();
}

Status read_moe(const json& config, const MoeNames& moe, Architecture& arch) {
  std::string_view experts_key = moe.experts_keys.front();
  for (std::string_view key : moe.experts_keys) {
    if (member(config, key)) {
      experts_key = key;
      break;
    }
  }
  auto experts = read_int(config, experts_key);
  LLMC_TRY(experts);
  auto top_k = read_int(config, "num_experts_per_tok");
  LLMC_TRY(top_k);
  auto intermediate = read_int(config, moe.intermediate_key);
  LLMC_TRY(intermediate);
  if (*top_k > *experts)
    return Error{fmt::format("config.json: \"num_experts_per_tok\" ({}) exceeds \"{}\" ({})", *top_k, experts_key, *experts)};
  arch.num_experts = *experts;
  arch.top_k = *top_k;
  arch.expert_intermediate_size = *intermediate;
  if (moe.renormalize) {
    arch.renormalize_top_k = *moe.renormalize;
  } else {
    auto renormalize = read_bool(config, "norm_topk_prob", false);
    LLMC_TRY(renormalize);
    arch.renormalize_top_k = *renormalize;
  }
  arch.moe_layer.assign(static_cast<size_t>(arch.num_layers), true);
  if (!moe.dense_layers_from_config) return Status::ok();
  int64_t step = 1;
  if (member(config, "decoder_sparse_step")) {
    auto value = read_int(config, "decoder_sparse_step");
    LLMC_TRY(value);
    step = *value;
  }
  std::vector<int64_t> dense;
  if (const json* listed = member(config, "mlp_only_layers")) {
    if (!listed->is_array()) return Error{fmt::format("config.json: \"mlp_only_layers\" must be a list, got {}", listed->dump())};
    for (const json& layer : *listed) {
      if (!layer.is_number_integer()) return Error{fmt::format("config.json: \"mlp_only_layers\" holds {}", layer.dump())};
      dense.push_back(layer.get<int64_t>());
    }
  }
  for (int64_t i = 0; i < arch.num_layers; ++i) {
    const bool listed = std::find(dense.begin(), dense.end(), i) != dense.end();
    arch.moe_layer[static_cast<size_t>(i)] = !listed && (i + 1) % step == 0;
  }
  return Status::ok();
}

}  // namespace

std::string Architecture::name_of(std::string_view pattern, int64_t layer, int64_t expert) {
  std::string out;
  out.reserve(pattern.size() + 8);
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i).starts_with("{layer}")) {
      out += std::to_string(layer);
      i += 7;
    } else if (pattern.substr(i).starts_with("{expert}")) {
      out += std::to_string(expert);
      i += 8;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

Expected<const ArchitectureTable*> find_architecture(const json& config) {
  std::string wanted;
  if (const json* names = member(config, "architectures"); names && names->is_array() && !names->empty() && (*names)[0].is_string()) {
    wanted = (*names)[0].get<std::string>();
    for (const auto& row : architecture_tables())
      if (std::find(row.hf_architectures.begin(), row.hf_architectures.end(), wanted) != row.hf_architectures.end()) return &row;
  }
  if (const json* type = member(config, "model_type"); type && type->is_string()) {
    for (const auto& row : architecture_tables())
      if (row.model_type == type->get<std::string>()) return &row;
    if (wanted.empty()) wanted = "model_type " + type->get<std::string>();
  }
  if (wanted.empty()) wanted = "no \"architectures\" or \"model_type\"";
  return Error{fmt::format("config.json: architecture '{}' is not supported; supported: {}", wanted,
                           fmt::join(supported_names(), ", "))};
}

Expected<RopeConfig> read_rope_config(const json& config) {
  // transformers 5 writes "rope_parameters"; older configs "rope_theta" plus an optional "rope_scaling".
  const json* params = member(config, "rope_parameters");
  if (!params) params = member(config, "rope_scaling");
  const json empty = json::object();
  if (!params) params = &empty;
  if (!params->is_object()) return Error{fmt::format("config.json: rope parameters must be an object, got {}", params->dump())};
  const std::string where = params == &empty ? "" : " of the rope parameters";

  std::string type = "default";
  if (const json* t = member(*params, "rope_type"); t && t->is_string()) type = t->get<std::string>();
  else if (const json* legacy = member(*params, "type"); legacy && legacy->is_string()) type = legacy->get<std::string>();
  else if (member(*params, "full_attention") || member(*params, "sliding_attention"))
    return Error{"config.json: per-layer-type rope parameters are not implemented"};

  RopeConfig rope;
  const json* theta_source = member(*params, "rope_theta") ? params : &config;
  auto theta = read_number(*theta_source, "", "rope_theta", 10000.0);
  LLMC_TRY(theta);
  rope.theta = *theta;
  const json* partial = member(*params, "partial_rotary_factor");
  if (!partial) partial = member(config, "partial_rotary_factor");
  if (partial && (!partial->is_number() || partial->get<double>() != 1.0))
    return Error{fmt::format("config.json: \"partial_rotary_factor\" {} is not implemented (only 1.0)", partial->dump())};

  if (type == "default") return rope;
  if (type == "linear") {
    rope.type = RopeType::linear;
    auto factor = read_number(*params, where, "factor", std::nullopt);
    LLMC_TRY(factor);
    rope.factor = *factor;
    return rope;
  }
  if (type == "llama3") {
    rope.type = RopeType::llama3;
    auto factor = read_number(*params, where, "factor", std::nullopt);
    LLMC_TRY(factor);
    auto low = read_number(*params, where, "low_freq_factor", std::nullopt);
    LLMC_TRY(low);
    auto high = read_number(*params, where, "high_freq_factor", std::nullopt);
    LLMC_TRY(high);
    auto original = read_number(*params, where, "original_max_position_embeddings",
                                member(config, "max_position_embeddings")
                                    ? std::optional<double>(config["max_position_embeddings"].get<double>())
                                    : std::nullopt);
    LLMC_TRY(original);
    if (*high == *low) return Error{"config.json: llama3 rope needs high_freq_factor != low_freq_factor"};
    rope.factor = *factor;
    rope.low_freq_factor = *low;
    rope.high_freq_factor = *high;
    rope.original_max_position = static_cast<int64_t>(*original);
    return rope;
  }
  if (type == "dynamic") {
    rope.type = RopeType::dynamic;
    auto factor = read_number(*params, where, "factor", std::nullopt);
    LLMC_TRY(factor);
    auto max_position = read_int(config, "max_position_embeddings");
    LLMC_TRY(max_position);
    rope.factor = *factor;
    rope.original_max_position = *max_position;
    return rope;
  }
  return Error{fmt::format("config.json: rope_type '{}' is not implemented; supported: default, linear, llama3, dynamic",
                           type)};
}

Expected<Architecture> resolve_architecture(const json& config) {
  auto table = find_architecture(config);
  LLMC_TRY(table);
  Architecture arch;
  arch.table = *table;
  const json* names = member(config, "architectures");
  arch.name = names && names->is_array() && !names->empty() && (*names)[0].is_string() ? (*names)[0].get<std::string>()
                                                                                      : std::string((*table)->hf_architectures[0]);
  LLMC_TRY(check_unsupported(config));
  for (auto [field, key] : {std::pair{&arch.hidden_size, "hidden_size"}, {&arch.num_layers, "num_hidden_layers"},
                            {&arch.num_heads, "num_attention_heads"}, {&arch.intermediate_size, "intermediate_size"},
                            {&arch.vocab_size, "vocab_size"}}) {
    auto value = read_int(config, key);
    LLMC_TRY(value);
    *field = *value;
  }
  arch.num_kv_heads = arch.num_heads;
  if (member(config, "num_key_value_heads")) {
    auto value = read_int(config, "num_key_value_heads");
    LLMC_TRY(value);
    arch.num_kv_heads = *value;
  }
  if (arch.num_heads % arch.num_kv_heads != 0)
    return Error{fmt::format("config.json: \"num_attention_heads\" ({}) is not a multiple of \"num_key_value_heads\" ({})",
                             arch.num_heads, arch.num_kv_heads)};
  if (member(config, "head_dim")) {
    auto value = read_int(config, "head_dim");
    LLMC_TRY(value);
    arch.head_dim = *value;
  } else {
    if (arch.hidden_size % arch.num_heads != 0)
      return Error{fmt::format("config.json: \"hidden_size\" ({}) is not a multiple of \"num_attention_heads\" ({}) and "
                               "\"head_dim\" is not set", arch.hidden_size, arch.num_heads)};
    arch.head_dim = arch.hidden_size / arch.num_heads;
  }
  if (arch.head_dim % 2 != 0) return Error{fmt::format("config.json: head_dim {} must be even for rope", arch.head_dim)};
  auto eps = read_number(config, "", "rms_norm_eps", 1e-6);
  LLMC_TRY(eps);
  arch.norm_eps = *eps;
  auto rope = read_rope_config(config);
  LLMC_TRY(rope);
  arch.rope = *rope;
  // The default of every family's transformers config class (save_pretrained writes the key anyway).
  auto tie = read_bool(config, "tie_word_embeddings", false);
  LLMC_TRY(tie);
  arch.tie_word_embeddings = *tie;
  switch ((*table)->attention_bias) {
    case AttentionBias::none: arch.attention_bias = false; break;
    case AttentionBias::qkv: arch.attention_bias = true; break;
    case AttentionBias::from_config: {
      auto bias = read_bool(config, "attention_bias", false);
      LLMC_TRY(bias);
      arch.attention_bias = *bias;
      break;
    }
  }
  LLMC_TRY(read_sliding_window(config, **table, arch));
  if ((*table)->moe) LLMC_TRY(read_moe(config, *(*table)->moe, arch));
  return arch;
}

}  // namespace llmc::model
