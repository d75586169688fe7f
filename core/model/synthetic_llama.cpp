// core/model/synthetic_llama.cpp
#include "model/synthetic_llama.h"

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/output_directory.h"
#include "model/safetensors_writer.h"
#include "tensor/element_cast.h"

namespace llmc::model {
namespace {

// xoshiro256+ seeded through splitmix64: fast, and plenty for synthetic weights.
class Random {
 public:
  explicit Random(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next() {
    const uint64_t result = state_[0] + state_[3];
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = (state_[3] << 45) | (state_[3] >> 19);
    return result;
  }

  /// Two independent N(0, 1) samples (Box-Muller).
  std::pair<float, float> normal_pair() {
    const uint64_t bits = next();
    const float u1 = (static_cast<float>(bits >> 40) + 1.0f) * 0x1.0p-24f;  // (0, 1]
    const float u2 = static_cast<float>((bits >> 16) & 0xffffff) * 0x1.0p-24f;
    const float radius = std::sqrt(-2.0f * std::log(u1));
    const float angle = 2.0f * std::numbers::pi_v<float> * u2;
    return {radius * std::cos(angle), radius * std::sin(angle)};
  }

 private:
  uint64_t state_[4];
};

void store(float value, DType dtype, std::byte* out) {
  if (dtype == DType::F32) {
    std::memcpy(out, &value, 4);
  } else {
    const uint16_t bits = dtype == DType::BF16 ? element::to_bf16(value).bits : element::to_f16(value).bits;
    std::memcpy(out, &bits, 2);
  }
}

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool is_norm;
};

std::vector<TensorSpec> llama_tensors(const LlamaShape& s) {
  const int64_t head_dim = s.hidden / s.heads;
  std::vector<TensorSpec> tensors = {{"model.embed_tokens.weight", {s.vocab, s.hidden}, false}};
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string layer = fmt::format("model.layers.{}.", i);
    tensors.push_back({layer + "self_attn.q_proj.weight", {s.heads * head_dim, s.hidden}, false});
    tensors.push_back({layer + "self_attn.k_proj.weight", {s.kv_heads * head_dim, s.hidden}, false});
    tensors.push_back({layer + "self_attn.v_proj.weight", {s.kv_heads * head_dim, s.hidden}, false});
    tensors.push_back({layer + "self_attn.o_proj.weight", {s.hidden, s.heads * head_dim}, false});
    tensors.push_back({layer + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, false});
    tensors.push_back({layer + "mlp.up_proj.weight", {s.intermediate, s.hidden}, false});
    tensors.push_back({layer + "mlp.down_proj.weight", {s.hidden, s.intermediate}, false});
    tensors.push_back({layer + "input_layernorm.weight", {s.hidden}, true});
    tensors.push_back({layer + "post_attention_layernorm.weight", {s.hidden}, true});
  }
  tensors.push_back({"model.norm.weight", {s.hidden}, true});
  if (!s.tie_embeddings) tensors.push_back({"lm_head.weight", {s.vocab, s.hidden}, false});
  return tensors;
}

std::string_view dtype_config_name(DType dtype) {
  return dtype == DType::BF16 ? "bfloat16" : dtype == DType::F16 ? "float16" : "float32";
}

}  // namespace

std::optional<LlamaShape> preset(std::string_view name) {
  if (name == "tiny") return LlamaShape{};
  if (name == "smollm2-135m") return LlamaShape{576, 1536, 30, 9, 3, 49152, 8192, 100000.0, true};
  if (name == "llama-1b") return LlamaShape{2048, 8192, 16, 32, 8, 128256, 131072, 500000.0, true};
  return std::nullopt;
}

nlohmann::json llama_config(const LlamaShape& s, DType dtype) {
  return {
      {"architectures", {"LlamaForCausalLM"}},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", 1},
      {"dtype", dtype_config_name(dtype)},
      {"eos_token_id", 2},
      {"head_dim", s.hidden / s.heads},
      {"hidden_act", "silu"},
      {"hidden_size", s.hidden},
      {"initializer_range", 0.02},
      {"intermediate_size", s.intermediate},
      {"max_position_embeddings", s.max_position_embeddings},
      {"mlp_bias", false},
      {"model_type", "llama"},
      {"num_attention_heads", s.heads},
      {"num_hidden_layers", s.layers},
      {"num_key_value_heads", s.kv_heads},
      {"pad_token_id", nullptr},
      {"pretraining_tp", 1},
      {"rms_norm_eps", 1e-5},
      {"rope_parameters", {{"rope_theta", s.rope_theta}, {"rope_type", "default"}}},
      {"tie_word_embeddings", s.tie_embeddings},
      {"transformers_version", "5.17.0"},
      {"use_cache", true},
      {"vocab_size", s.vocab},
  };
}

Status write_synthetic_llama(const SynthOptions& options) {
  const LlamaShape& s = options.shape;
  if (s.hidden <= 0 || s.intermediate <= 0 || s.layers < 0 || s.heads <= 0 || s.kv_heads <= 0 || s.vocab <= 0)
    return Error{fmt::format("{}: every size of a synthetic Llama must be positive", options.output.string())};
  if (s.hidden % s.heads != 0 || s.heads % s.kv_heads != 0)
    return Error{fmt::format("{}: hidden ({}) must be a multiple of heads ({}), and heads of kv_heads ({})",
                             options.output.string(), s.hidden, s.heads, s.kv_heads)};
  auto output = OutputDirectory::create(options.output, options.overwrite);
  if (!output) return output.error();

  const auto tensors = llama_tensors(s);
  SafetensorsWriter writer(output->path(), options.max_shard_size, tensors.size());
  Random random(options.seed);
  const size_t element_size = traits(options.dtype).bits / 8;
  for (const TensorSpec& tensor : tensors) {
    const auto fill = [&](uint64_t, std::span<std::byte> chunk) -> Status {
      for (size_t i = 0; i < chunk.size(); i += 2 * element_size) {
        std::pair<float, float> values(1.0f, 1.0f);
        if (!tensor.is_norm) {
          const auto [a, b] = random.normal_pair();
          values = {0.02f * a, 0.02f * b};
        }
        store(values.first, options.dtype, &chunk[i]);
        if (i + element_size < chunk.size()) store(values.second, options.dtype, &chunk[i + element_size]);
      }
      return {};
    };
    LLMC_TRY(writer.add_generated(tensor.name, options.dtype, tensor.shape, fill));
  }
  LLMC_TRY(writer.finish());
  LLMC_TRY(write_config(llama_config(s, options.dtype), output->path()));
  return output->commit();
}

}  // namespace llmc::model
