// core/model/module_map.cpp
#include "model/module_map.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

namespace llmc::model {
namespace {

std::vector<std::string_view> split_dots(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

bool is_number(std::string_view part) {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Where transformers defines the common Llama-family submodules (named_modules order): the reference
// numbers config groups and orders its ignore list that way. Unknown names rank after these, by name.
int definition_rank(std::string_view part) {
  static constexpr std::array<std::string_view, 23> kOrder = {
      "model", "self_attn", "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm",
      "mlp", "block_sparse_moe", "gate", "experts", "gate_proj", "up_proj", "down_proj", "w1", "w2", "w3",
      "shared_expert", "shared_expert_gate", "input_layernorm", "post_attention_layernorm", "lm_head"};
  const auto it = std::find(kOrder.begin(), kOrder.end(), part);
  return it == kOrder.end() ? static_cast<int>(kOrder.size()) : static_cast<int>(it - kOrder.begin());
}

// Dotted names compared part by part: numbers as numbers (layers.2 < layers.10), known submodules in
// definition order, the rest by name.
bool natural_less(std::string_view a, std::string_view b) {
  const auto left = split_dots(a);
  const auto right = split_dots(b);
  for (size_t i = 0; i < left.size() && i < right.size(); ++i) {
    if (left[i] == right[i]) continue;
    if (is_number(left[i]) && is_number(right[i]) && left[i].size() != right[i].size())
      return left[i].size() < right[i].size();
    const int rank_left = definition_rank(left[i]), rank_right = definition_rank(right[i]);
    if (rank_left != rank_right) return rank_left < rank_right;
    return left[i] < right[i];
  }
  return left.size() < right.size();
}

bool is_embedding_name(std::string_view module) {
  const std::string_view last = module.substr(module.rfind('.') + 1);
  static constexpr std::array<std::string_view, 5> kNames = {"embed_tokens", "embed_positions", "wte", "wpe",
                                                             "tok_embeddings"};
  return std::find(kNames.begin(), kNames.end(), last) != kNames.end() || last.ends_with("embeddings");
}

void classify(ModuleEntry& module, std::span<const int64_t> weight_shape, bool has_weight) {
  module.kind = LLMC_MODULE_OTHER;
  if (!has_weight) return;
  if (weight_shape.size() == 2) {
    const bool embedding = is_embedding_name(module.name);
    module.kind = embedding ? LLMC_MODULE_EMBEDDING : LLMC_MODULE_LINEAR;
    module.class_names = {embedding ? "Embedding" : "Linear"};
  } else if (weight_shape.size() == 1) {
    module.kind = LLMC_MODULE_NORM;
    module.class_names = {module.tensors.contains("bias") ? "LayerNorm" : "RMSNorm"};
  }
}

}  // namespace

int32_t layer_index_of(std::string_view name) {
  const auto parts = split_dots(name);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if ((parts[i] == "layers" || parts[i] == "h" || parts[i] == "blocks") && is_number(parts[i + 1])) {
      int32_t index = -1;
      const auto [end, error] = std::from_chars(parts[i + 1].data(), parts[i + 1].data() + parts[i + 1].size(), index);
      if (error == std::errc()) return index;
    }
  }
  return -1;
}

const ModuleEntry* ModuleMap::find(std::string_view name) const {
  const auto it = std::find_if(modules.begin(), modules.end(), [&](const ModuleEntry& m) { return m.name == name; });
  return it == modules.end() ? nullptr : &*it;
}

ModuleMap build_module_map(std::span<const TensorShape> tensors) {
  std::map<std::string, size_t, std::less<>> positions;  // module name -> position in modules
  std::vector<std::span<const int64_t>> weight_shapes;
  std::vector<bool> has_weight;
  ModuleMap map;
  for (const TensorShape& tensor : tensors) {
    const size_t dot = tensor.name.rfind('.');
    const std::string module_name(dot == std::string_view::npos ? std::string_view() : tensor.name.substr(0, dot));
    const std::string suffix(dot == std::string_view::npos ? tensor.name : tensor.name.substr(dot + 1));
    auto [it, inserted] = positions.emplace(module_name, map.modules.size());
    if (inserted) {
      map.modules.push_back(ModuleEntry{module_name, LLMC_MODULE_OTHER, layer_index_of(module_name), {}, {}});
      weight_shapes.emplace_back();
      has_weight.push_back(false);
    }
    map.modules[it->second].tensors.emplace(suffix, std::string(tensor.name));
    if (suffix == "weight") {
      weight_shapes[it->second] = tensor.shape;
      has_weight[it->second] = true;
    }
  }
  for (size_t i = 0; i < map.modules.size(); ++i) classify(map.modules[i], weight_shapes[i], has_weight[i]);

  const auto part = [](const ModuleEntry& m) {
    if (m.layer_index >= 0) return 1;
    return m.kind == LLMC_MODULE_EMBEDDING ? 0 : 2;
  };
  std::stable_sort(map.modules.begin(), map.modules.end(), [&](const ModuleEntry& a, const ModuleEntry& b) {
    if (std::tuple(part(a), a.layer_index) != std::tuple(part(b), b.layer_index))
      return std::tuple(part(a), a.layer_index) < std::tuple(part(b), b.layer_index);
    return natural_less(a.name, b.name);
  });
  return map;
}

ModuleMap build_module_map(const Checkpoint& checkpoint) {
  std::vector<TensorShape> tensors;
  tensors.reserve(checkpoint.tensor_names().size());
  for (const std::string& name : checkpoint.tensor_names()) {
    const TensorInfo& info = *checkpoint.find(name)->info;
    tensors.push_back(TensorShape{info.name, info.shape});
  }
  ModuleMap map = build_module_map(tensors);
  // A tied head stores no tensor of its own, but it is a module of the model (the reference lists it,
  // e.g. in quantization_config.ignore): keep it, tensorless, where transformers defines it.
  const auto& config = checkpoint.config();
  if (config.value("tie_word_embeddings", false) == true && map.find(kTiedHeadName) == nullptr)
    map.modules.push_back(ModuleEntry{std::string(kTiedHeadName), LLMC_MODULE_LINEAR, -1, {"Linear"}, {}});
  return map;
}

}  // namespace llmc::model
