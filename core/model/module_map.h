// core/model/module_map.h - the modules of a checkpoint (Linear, Embedding, norms, the rest), derived
// from its tensor names and shapes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/plugin.h"
#include "model/checkpoint.h"

namespace llmc::model {

struct ModuleEntry {
  std::string name;                           // "model.layers.3.mlp.down_proj"
  llmc_module_kind kind;
  int32_t layer_index;                        // N of a "layers.N." / "h.N." / "blocks.N." component, else -1
  std::vector<std::string> class_names;       // {"Linear"}, {"Embedding"}, {"RMSNorm"}, {"LayerNorm"}, {}
  std::map<std::string, std::string> tensors; // suffix ("weight", "bias", "inv_freq") -> full tensor name
};

/// Every module that owns a tensor, in model order: input embeddings, then the decoder layers by index,
/// then the rest (final norm, head, ...); within each part, names in natural order: numbers compare as
/// numbers, and the common Llama-family submodules (q/k/v/o_proj, gate/up/down_proj, norms, ...) come
/// in transformers' definition order, as the reference enumerates them. Every tensor of the checkpoint
/// belongs to exactly one entry.
struct ModuleMap {
  std::vector<ModuleEntry> modules;

  /// nullptr when no module is named `name`.
  const ModuleEntry* find(std::string_view name) const;
};

/// A tensor as the module map sees it.
struct TensorShape {
  std::string_view name;
  std::span<const int64_t> shape;
};

/// The head's module name in Hugging Face causal LMs.
inline constexpr std::string_view kTiedHeadName = "lm_head";

ModuleMap build_module_map(std::span<const TensorShape> tensors);
/// The modules of a checkpoint. With tie_word_embeddings the head shares the embedding's weight and
/// stores no tensor; it is listed last as a Linear module with no tensors.
ModuleMap build_module_map(const Checkpoint& checkpoint);

/// The N of the first "layers.N" / "h.N" / "blocks.N" in a dotted name, or -1.
int32_t layer_index_of(std::string_view name);

}  // namespace llmc::model
