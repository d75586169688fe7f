// core/model/gguf_config.cpp
#include "model/gguf_config.h"

#include <array>

#include <fmt/format.h>

#include "model/gguf_metadata.h"

namespace llmc::model {
namespace {

// llama.cpp writes Mistral's dense models as `llama` too; LlamaForCausalLM computes the same function for
// them when no sliding window is in play (Mistral >= v0.2 has none).
constexpr std::array kArchitectures = {
    GgufArchitecture{"llama", "llama", "LlamaForCausalLM", true, false, false},
    GgufArchitecture{"qwen2", "qwen2", "Qwen2ForCausalLM", false, true, false},
    GgufArchitecture{"qwen3", "qwen3", "Qwen3ForCausalLM", false, false, true},
};

constexpr double kDefaultRopeTheta = 10000.0;  // llama.cpp's and transformers' default freq base

Error bad_value(const GgufFile& file, std::string_view key, std::string_view why) {
  return Error{fmt::format("{}: the metadata key '{}' {}", file.path().string(), key, why)};
}

// A required positive integer `<arch>.<suffix>`.
Expected<int64_t> positive(const GgufFile& file, const std::string& key) {
  auto value = require_int(file, key);
  if (!value) return value;
  if (*value <= 0) return bad_value(file, key, fmt::format("is {}, expected a positive number", *value));
  return value;
}

Expected<std::optional<int64_t>> token_id(const GgufFile& file, std::string_view key, int64_t vocab_size) {
  auto id = optional_int(file, key);
  if (!id || !*id) return id;
  if (**id < 0 || **id >= vocab_size)
    return bad_value(file, key, fmt::format("is {}, outside the vocabulary of {} tokens", **id, vocab_size));
  return id;
}

// The vocabulary size: `<arch>.vocab_size`, else the tokenizer's token count, else the embedding's rows;
// it must agree with the embedding.
Expected<int64_t> read_vocab_size(const GgufFile& file, const std::string& arch) {
  const GgufTensorInfo* embedding = file.find("token_embd.weight");
  if (embedding == nullptr || embedding->shape.size() != 2)
    return Error{fmt::format("{}: the tensor 'token_embd.weight' is missing or not 2-D", file.path().string())};
  const std::string key = arch + ".vocab_size";
  auto declared = optional_int(file, key);
  if (!declared) return declared.error();
  if (*declared) {
    if (**declared != embedding->shape[0])
      return bad_value(file, key, fmt::format("is {}, but 'token_embd.weight' has {} rows", **declared,
                                              embedding->shape[0]));
    return **declared;
  }
  if (const GgufValue* tokens = file.find_metadata("tokenizer.ggml.tokens"); tokens && tokens->as_array()) {
    const auto count = static_cast<int64_t>(tokens->as_array()->size());
    if (count != embedding->shape[0])
      return bad_value(file, "tokenizer.ggml.tokens",
                       fmt::format("has {} tokens, but 'token_embd.weight' has {} rows", count, embedding->shape[0]));
  }
  return embedding->shape[0];
}

Status check_rope_scaling(const GgufFile& file, const std::string& arch) {
  const std::string key = arch + ".rope.scaling.type";
  auto type = optional_string(file, key);
  if (!type) return type.error();
  if (*type && **type != "none")
    return bad_value(file, key, fmt::format("is '{}': llmc imports only models without rope scaling", **type));
  if (file.find("rope_freqs.weight") != nullptr)
    return Error{fmt::format("{}: the tensor 'rope_freqs.weight' (Llama 3 rope scaling) has no Hugging Face config "
                             "equivalent that the GGUF metadata determines; llmc imports only models without rope "
                             "scaling", file.path().string())};
  return {};
}

}  // namespace

const GgufArchitecture* find_gguf_architecture(std::string_view gguf_name) {
  for (const auto& architecture : kArchitectures)
    if (architecture.gguf_name == gguf_name) return &architecture;
  return nullptr;
}

std::string supported_gguf_architectures() {
  std::string names;
  for (const auto& architecture : kArchitectures)
    names += fmt::format("{}{}", names.empty() ? "" : ", ", architecture.gguf_name);
  return names;
}

Expected<GgufModelConfig> read_gguf_model_config(const GgufFile& file) {
  auto arch_name = require_string(file, "general.architecture");
  if (!arch_name) return arch_name.error();
  GgufModelConfig config;
  config.architecture = find_gguf_architecture(*arch_name);
  if (config.architecture == nullptr)
    return bad_value(file, "general.architecture",
                     fmt::format("is '{}', which llmc does not import (supported: {})", *arch_name,
                                 supported_gguf_architectures()));
  const std::string& arch = *arch_name;
  const auto key = [&](std::string_view suffix) { return fmt::format("{}.{}", arch, suffix); };

  auto layers = positive(file, key("block_count"));
  if (!layers) return layers.error();
  auto hidden = positive(file, key("embedding_length"));
  if (!hidden) return hidden.error();
  auto intermediate = positive(file, key("feed_forward_length"));
  if (!intermediate) return intermediate.error();
  auto heads = positive(file, key("attention.head_count"));
  if (!heads) return heads.error();
  auto context = positive(file, key("context_length"));
  if (!context) return context.error();
  auto eps = optional_float(file, key("attention.layer_norm_rms_epsilon"));
  if (!eps) return eps.error();
  if (!*eps) return bad_value(file, key("attention.layer_norm_rms_epsilon"), "is missing");
  auto theta = optional_float(file, key("rope.freq_base"));
  if (!theta) return theta.error();
  auto kv_heads = optional_int(file, key("attention.head_count_kv"));
  if (!kv_heads) return kv_heads.error();
  auto key_length = optional_int(file, key("attention.key_length"));
  if (!key_length) return key_length.error();
  auto rope_dims = optional_int(file, key("rope.dimension_count"));
  if (!rope_dims) return rope_dims.error();
  LLMC_TRY(check_rope_scaling(file, arch));

  config.num_layers = *layers;
  config.hidden_size = *hidden;
  config.intermediate_size = *intermediate;
  config.num_heads = *heads;
  config.context_length = *context;
  config.rms_norm_eps = **eps;
  config.rope_theta = theta->value_or(kDefaultRopeTheta);
  config.num_kv_heads = kv_heads->value_or(config.num_heads);
  if (config.num_kv_heads <= 0 || config.num_heads % config.num_kv_heads != 0)
    return bad_value(file, key("attention.head_count_kv"),
                     fmt::format("is {}, which does not divide the {} attention heads", config.num_kv_heads,
                                 config.num_heads));
  if (*key_length) {
    config.head_dim = **key_length;
  } else if (config.hidden_size % config.num_heads == 0) {
    config.head_dim = config.hidden_size / config.num_heads;
  } else {
    return bad_value(file, key("attention.key_length"),
                     fmt::format("is missing, and the {} heads do not divide the embedding length {}",
                                 config.num_heads, config.hidden_size));
  }
  if (config.head_dim <= 0 || config.head_dim % 2 != 0)
    return bad_value(file, key("attention.key_length"), fmt::format("gives the head dimension {}, expected a "
                                                                     "positive even number", config.head_dim));
  if (*rope_dims && **rope_dims != config.head_dim)
    return bad_value(file, key("rope.dimension_count"),
                     fmt::format("is {}, but the head dimension is {}: partial rotary embeddings are not supported",
                                 **rope_dims, config.head_dim));
  if (config.architecture->model_type == "qwen2" && config.head_dim * config.num_heads != config.hidden_size)
    return bad_value(file, key("attention.key_length"),
                     fmt::format("gives the head dimension {}, but Qwen2 requires embedding length / heads = {}",
                                 config.head_dim, config.hidden_size / config.num_heads));

  auto vocab = read_vocab_size(file, arch);
  if (!vocab) return vocab.error();
  config.vocab_size = *vocab;
  auto bos = token_id(file, "tokenizer.ggml.bos_token_id", config.vocab_size);
  if (!bos) return bos.error();
  auto eos = token_id(file, "tokenizer.ggml.eos_token_id", config.vocab_size);
  if (!eos) return eos.error();
  auto pad = token_id(file, "tokenizer.ggml.padding_token_id", config.vocab_size);
  if (!pad) return pad.error();
  auto unk = token_id(file, "tokenizer.ggml.unknown_token_id", config.vocab_size);
  if (!unk) return unk.error();
  config.bos_token_id = *bos;
  config.eos_token_id = *eos;
  config.pad_token_id = *pad;
  config.unk_token_id = *unk;
  config.tie_word_embeddings = file.find("output.weight") == nullptr;
  config.attention_bias = file.find("blk.0.attn_q.bias") != nullptr;
  return config;
}

nlohmann::json hf_config(const GgufModelConfig& config) {
  const auto id_or_null = [](const std::optional<int64_t>& id) { return id ? nlohmann::json(*id) : nlohmann::json(); };
  const GgufArchitecture& arch = *config.architecture;
  nlohmann::json json = {
      {"architectures", {arch.hf_class}},
      {"attention_dropout", 0.0},
      {"bos_token_id", id_or_null(config.bos_token_id)},
      {"dtype", "bfloat16"},
      {"eos_token_id", id_or_null(config.eos_token_id)},
      {"hidden_act", "silu"},
      {"hidden_size", config.hidden_size},
      {"initializer_range", 0.02},
      {"intermediate_size", config.intermediate_size},
      {"max_position_embeddings", config.context_length},
      {"model_type", arch.model_type},
      {"num_attention_heads", config.num_heads},
      {"num_hidden_layers", config.num_layers},
      {"num_key_value_heads", config.num_kv_heads},
      {"pad_token_id", id_or_null(config.pad_token_id)},
      {"rms_norm_eps", config.rms_norm_eps},
      {"rope_parameters", {{"rope_theta", config.rope_theta}, {"rope_type", "default"}}},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"use_cache", true},
      {"vocab_size", config.vocab_size},
  };
  if (config.unk_token_id) json["unk_token_id"] = *config.unk_token_id;
  if (arch.model_type == "llama") {
    json["attention_bias"] = config.attention_bias;
    json["head_dim"] = config.head_dim;
    json["mlp_bias"] = false;
    json["pretraining_tp"] = 1;
  } else {  // the Qwen family: full attention in every layer
    if (!arch.qkv_bias) json["attention_bias"] = config.attention_bias;
    if (arch.qk_norm) json["head_dim"] = config.head_dim;
    json["layer_types"] = std::vector<std::string>(static_cast<size_t>(config.num_layers), "full_attention");
    json["max_window_layers"] = config.num_layers;
    json["sliding_window"] = nullptr;
    json["use_sliding_window"] = false;
  }
  return json;
}

nlohmann::json hf_generation_config(const GgufModelConfig& config) {
  nlohmann::json json = {
      {"_from_model_config", true},
      {"output_attentions", false},
      {"output_hidden_states", false},
      {"use_cache", true},
  };
  if (config.bos_token_id) json["bos_token_id"] = *config.bos_token_id;
  if (config.eos_token_id) json["eos_token_id"] = *config.eos_token_id;
  if (config.pad_token_id) json["pad_token_id"] = *config.pad_token_id;
  return json;
}

}  // namespace llmc::model
