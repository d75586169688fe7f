// core/exec/decoder_layer.h - one decoder layer built from the architecture table and its weights:
// pre-norm attention, then a pre-norm gated MLP or sparse MoE block, each with a residual.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <string_view>
#include <vector>

#include "exec/attention.h"
#include "exec/moe.h"
#include "exec/tap.h"
#include "exec/weight_source.h"
#include "model/architecture.h"
#include "util/expected.h"

namespace llmc::exec {

class DecoderLayer {
 public:
  /// Reads layer `index`'s tensors from `weights`; errors name a missing tensor or a shape that does not
  /// match the config (both shapes). `arch` must outlive the layer.
  static Expected<DecoderLayer> load(const model::Architecture& arch, WeightSource& weights, int64_t index);

  /// hidden [B, T, hidden] -> [B, T, hidden]. `tap` (may be null) sees every Linear it runs, `kv` the attention's
  /// keys and values.
  Expected<at::Tensor> forward(const at::Tensor& hidden, const BatchContext& batch, const LinearTap* tap = nullptr,
                               const KvTap* kv = nullptr) const;
  /// forward() for its taps alone (a calibration pass): the layer's output is not formed, and unless
  /// `last_output` says the taps read the output of last_linear(), the dense MLP's down projection is handed
  /// its input with an undefined output and not computed (a fifth of a SmolLM2 layer's work). MoE layers
  /// run in full.
  Status observe(const at::Tensor& hidden, const BatchContext& batch, const LinearTap& tap, const KvTap* kv,
                 bool last_output) const;
  /// The last Linear the layer runs (the dense MLP's down projection).
  const std::string& last_linear() const { return linear_modules_.back(); }

  /// Runs one module of the layer with the current weights: a Linear on its input [..., in], the attention block
  /// (attention_block(); input: the normed hidden states [B, T, hidden], output before the residual) or the MLP
  /// block (mlp_block(); the same for the dense MLP or sparse MoE).
  Expected<at::Tensor> run_module(std::string_view module, const at::Tensor& input, const BatchContext& batch) const;
  /// The module names of the attention and MLP blocks ("model.layers.3.self_attn", "model.layers.3.mlp").
  std::string attention_block() const;
  std::string mlp_block() const;
  /// The Linear whose input is the block's input: q_proj for attention, gate_proj (or the router) for the MLP.
  const std::string& block_input_linear(std::string_view block) const;

  int64_t index() const { return index_; }
  /// The layer's tensors; replace entries to run with substituted weights.
  LayerWeights& weights() { return weights_; }
  const LayerWeights& weights() const { return weights_; }
  /// The Linear modules of the layer, in execution order (experts after the router).
  const std::vector<std::string>& linear_modules() const { return linear_modules_; }
  /// The activation quantization of the layer's Linears that a compressed-tensors scheme quantizes (none
  /// when ComputeOptions::quantize_activations is false).
  const LayerActivationQuantization& activation_quantization() const { return activations_; }

 private:
  DecoderLayer(const model::Architecture& arch, int64_t index);
  // forward(), up to the down projection's input when `to_down_input` (a dense layer's; the result undefined)
  Expected<at::Tensor> run(const at::Tensor& hidden, const BatchContext& batch, const LinearTap* tap, const KvTap* kv,
                           bool to_down_input) const;

  const model::Architecture* arch_;
  int64_t index_;
  std::string input_norm_, post_attention_norm_;
  AttentionNames attention_;
  bool moe_ = false;
  MlpNames mlp_;
  MoeSpec moe_spec_;
  std::vector<std::string> linear_modules_;
  LayerWeights weights_;
  LayerActivationQuantization activations_;
};

}  // namespace llmc::exec
