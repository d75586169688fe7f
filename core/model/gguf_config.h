// core/model/gguf_config.h - the model hyperparameters of a GGUF file (llama.cpp's metadata keys) and the
// Hugging Face config.json and generation_config.json they make.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/gguf_file.h"
#include "util/expected.h"

namespace llmc::model {

/// A GGUF architecture that llmc imports, as a table row.
struct GgufArchitecture {
  std::string_view gguf_name;   // general.architecture, also the prefix of its hyperparameter keys
  std::string_view model_type;  // config.json "model_type"
  std::string_view hf_class;    // config.json "architectures"[0]
  bool permuted_qk;             // llama.cpp's converter interleaved the rotary halves of attn_q/attn_k rows
  bool qkv_bias;                // the Hugging Face class always has q/k/v biases (Qwen2)
  bool qk_norm;                 // the Hugging Face class has per-head q/k RMS norms (Qwen3)
};

/// nullptr when llmc does not import `gguf_name`.
const GgufArchitecture* find_gguf_architecture(std::string_view gguf_name);
/// "llama, qwen2, qwen3", for messages.
std::string supported_gguf_architectures();

/// The hyperparameters, read from `<arch>.*` keys, the special token ids from `tokenizer.ggml.*`.
struct GgufModelConfig {
  const GgufArchitecture* architecture = nullptr;
  int64_t num_layers = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  bool tie_word_embeddings = false;  // the file has no output.weight
  bool attention_bias = false;       // the file has attn_q.bias tensors
  std::optional<int64_t> bos_token_id, eos_token_id, pad_token_id, unk_token_id;
};

/// Reads and checks the hyperparameters. Errors name the file and the metadata key (a missing required key,
/// a wrong type, a value out of range, an unsupported architecture listing the supported ones, rope scaling
/// llmc cannot express).
Expected<GgufModelConfig> read_gguf_model_config(const GgufFile& file);

/// config.json as transformers 5.17 writes it for the architecture's class with dtype bfloat16 (without
/// "transformers_version": llmc is not transformers).
nlohmann::json hf_config(const GgufModelConfig& config);

/// generation_config.json as transformers writes it from that config.
nlohmann::json hf_generation_config(const GgufModelConfig& config);

}  // namespace llmc::model
