// core/exec/model_runner.h - a causal LM run one decoder layer at a time from its memory-mapped
// checkpoint: resident weights are one layer (or the embedding, or the head) at any time.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "exec/attention.h"
#include "exec/decoder_layer.h"
#include "exec/rope.h"
#include "exec/tap.h"
#include "exec/weight_source.h"
#include "model/architecture.h"
#include "model/checkpoint.h"
#include "util/expected.h"

namespace llmc::exec {

/// Token ids [B, T] (int64) and an optional attention mask [B, T] (1 = token, 0 = padding; left or right).
/// Positions count tokens only: position = number of earlier tokens in the row.
struct Batch {
  at::Tensor ids;
  at::Tensor attention_mask;  // undefined: every position is a token
};

/// Receives the logits [B, T, vocab] (compute dtype) of batch `index`; the tensor is freed after the call.
using LogitsCallback = std::function<Status(size_t index, const at::Tensor& logits)>;

/// Optional hooks into a streamed run.
struct StreamHooks {
  LinearTap tap;                                          // sees every Linear of every layer
  std::function<Status(DecoderLayer& layer)> on_layer;    // after the layer loads, before it runs (may edit weights)
};

/// The final norm and the head (the embedding when tied).
class Head {
 public:
  /// hidden [B, T, hidden] -> logits [B, T, vocab]. A head whose compressed-tensors scheme quantizes its
  /// activations fake-quantizes them as a Linear does (dynamic per-token args reduce each [B, T] position
  /// only when given the 3-D shape the model hands its head).
  Expected<at::Tensor> forward(const at::Tensor& hidden) const;

 private:
  friend class ModelRunner;
  std::string module_;  // the head Linear, or the embedding it is tied to
  at::Tensor norm_, weight_;
  ActivationQuantization activations_;
  double eps_ = 0;
  MatmulMath matmul_ = MatmulMath::dtype;
};

class ModelRunner {
 public:
  /// Opens the checkpoint in `dir` with a weight source over it.
  static Expected<std::unique_ptr<ModelRunner>> open(const std::filesystem::path& dir, ComputeOptions options = {});
  /// Runs `checkpoint` (which must outlive the runner) with weights from `weights` (e.g. an instrumented source).
  static Expected<std::unique_ptr<ModelRunner>> create(const model::Checkpoint& checkpoint,
                                                       std::unique_ptr<WeightSource> weights, ComputeOptions options);

  const model::Architecture& architecture() const { return arch_; }
  at::ScalarType compute_dtype() const { return options_.dtype; }
  MatmulMath matmul() const { return options_.matmul; }
  WeightSource& weights() { return *weights_; }

  /// Embeddings [B, T, hidden] of ids [B, T] (loads and drops the embedding matrix).
  Expected<at::Tensor> embed(const at::Tensor& ids);
  /// embed() of every batch, loading the embedding matrix once.
  Expected<std::vector<at::Tensor>> embed_batches(std::span<const Batch> batches);
  /// Rope tables and token mask of one batch, shared by every layer.
  Expected<BatchContext> context(const Batch& batch) const;
  Expected<DecoderLayer> load_layer(int64_t index) { return DecoderLayer::load(arch_, *weights_, index); }
  Expected<Head> load_head();

  /// The hidden states [B, T, hidden] of every batch after the last decoder layer (before the final norm):
  /// embeds every batch, then runs layer 0 over all of them, releases it, loads layer 1, ...
  Expected<std::vector<at::Tensor>> final_hidden_states(std::span<const Batch> batches, const StreamHooks& hooks = {});
  /// final_hidden_states, then the head batch by batch, handing each batch's logits to `on_logits`. Holds one
  /// layer's weights plus the hidden states of all batches.
  Status run(std::span<const Batch> batches, const LogitsCallback& on_logits, const StreamHooks& hooks = {});

 private:
  ModelRunner(const model::Checkpoint& checkpoint, model::Architecture arch, std::unique_ptr<WeightSource> weights,
              ComputeOptions options);
  Expected<at::Tensor> embedding_table();
  Expected<at::Tensor> embed_with(const at::Tensor& table, const at::Tensor& ids) const;

  std::unique_ptr<model::Checkpoint> owned_checkpoint_;  // set by open()
  const model::Checkpoint* checkpoint_;
  model::Architecture arch_;
  std::unique_ptr<WeightSource> weights_;
  ComputeOptions options_;
  Rope rope_;
};

}  // namespace llmc::exec
