// core/model/synthetic_llama.h - a synthetic Llama checkpoint (shapes, config.json, random weights) for
// tests and benchmarks; tools/synth (llmc-synth) is its command line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tensor/dtype.h"
#include "util/expected.h"

namespace llmc::model {

struct LlamaShape {
  int64_t hidden = 64;
  int64_t intermediate = 128;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t kv_heads = 2;
  int64_t vocab = 256;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  bool tie_embeddings = false;
};

/// The shapes of "tiny", "smollm2-135m" or "llama-1b" (Llama-3.2-1B); nullopt for another name.
std::optional<LlamaShape> preset(std::string_view name);

/// config.json as transformers 5.17 writes it for LlamaForCausalLM.
nlohmann::json llama_config(const LlamaShape& shape, DType dtype);

struct SynthOptions {
  std::filesystem::path output;
  LlamaShape shape;
  DType dtype = DType::BF16;  // BF16, F16 or F32
  uint64_t seed = 0;
  uint64_t max_shard_size = 5'000'000'000;
  bool overwrite = false;
};

/// Writes the checkpoint tensor by tensor: weights ~ N(0, 0.02), norm weights 1.0.
Status write_synthetic_llama(const SynthOptions& options);

}  // namespace llmc::model
