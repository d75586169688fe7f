// core/exec/decoder_layer.cpp - a decoder layer from its table row.
#include "exec/decoder_layer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "exec/mlp.h"
#include "exec/norm.h"

namespace llmc::exec {
namespace {

using Shape = std::vector<int64_t>;

// Loads tensors into a layer's map, checking each against the shape the config implies.
class Loader {
 public:
  Loader(WeightSource& source, LayerWeights& out, LayerActivationQuantization& activations)
      : source_(source), out_(out), activations_(activations) {}

  Status linear(const std::string& module, int64_t out_features, int64_t in_features, bool bias) {
    auto linear = source_.linear_weight(module);
    LLMC_TRY(linear);
    LLMC_TRY(store(module + ".weight", std::move(linear->weight), {out_features, in_features}));
    if (!linear->activations.empty()) activations_.insert_or_assign(module, std::move(linear->activations));
    if (!bias) return Status::ok();
    return plain(module + ".bias", {out_features});
  }

  Status plain(const std::string& name, Shape shape) {
    auto tensor = source_.tensor(name);
    LLMC_TRY(tensor);
    return store(name, std::move(*tensor), std::move(shape));
  }

 private:
  Status store(const std::string& name, at::Tensor tensor, const Shape& shape) {
    if (tensor.sizes() != at::IntArrayRef(shape))
      return Error{fmt::format("tensor '{}' has shape [{}], the config implies [{}]", name, fmt::join(tensor.sizes(), ", "),
                               fmt::join(shape, ", "))};
    out_.insert_or_assign(name, std::move(tensor));
    return Status::ok();
  }

  WeightSource& source_;
  LayerWeights& out_;
  LayerActivationQuantization& activations_;
};

MlpNames mlp_names(const model::DenseMlpNames& pattern, int64_t layer, int64_t expert = -1) {
  using model::Architecture;
  return {Architecture::name_of(pattern.gate, layer, expert), Architecture::name_of(pattern.up, layer, expert),
          Architecture::name_of(pattern.down, layer, expert)};
}

}  // namespace

DecoderLayer::DecoderLayer(const model::Architecture& arch, int64_t index) : arch_(&arch), index_(index) {
  using model::Architecture;
  const model::ArchitectureTable& table = *arch.table;
  input_norm_ = Architecture::name_of(table.input_norm, index);
  post_attention_norm_ = Architecture::name_of(table.post_attention_norm, index);
  attention_ = {Architecture::name_of(table.q, index), Architecture::name_of(table.k, index),
                Architecture::name_of(table.v, index), Architecture::name_of(table.o, index), std::nullopt, std::nullopt};
  if (table.q_norm) attention_.q_norm = Architecture::name_of(*table.q_norm, index);
  if (table.k_norm) attention_.k_norm = Architecture::name_of(*table.k_norm, index);
  linear_modules_ = {attention_.q, attention_.k, attention_.v, attention_.o};
  moe_ = table.moe && arch.moe_layer[static_cast<size_t>(index)];
  if (moe_) {
    moe_spec_.router = Architecture::name_of(table.moe->router, index);
    moe_spec_.top_k = arch.top_k;
    moe_spec_.renormalize = arch.renormalize_top_k;
    linear_modules_.push_back(moe_spec_.router);
    for (int64_t e = 0; e < arch.num_experts; ++e) {
      moe_spec_.experts.push_back(mlp_names(table.moe->expert, index, e));
      const MlpNames& expert = moe_spec_.experts.back();
      linear_modules_.insert(linear_modules_.end(), {expert.gate, expert.up, expert.down});
    }
  } else {
    mlp_ = mlp_names(table.mlp, index);
    linear_modules_.insert(linear_modules_.end(), {mlp_.gate, mlp_.up, mlp_.down});
  }
}

Expected<DecoderLayer> DecoderLayer::load(const model::Architecture& arch, WeightSource& source, int64_t index) {
  if (index < 0 || index >= arch.num_layers)
    return Error{fmt::format("layer {} does not exist (the model has {})", index, arch.num_layers)};
  DecoderLayer layer(arch, index);
  Loader load(source, layer.weights_, layer.activations_);
  const int64_t hidden = arch.hidden_size, d = arch.head_dim;
  const bool bias = arch.attention_bias;
  const bool o_bias = bias && arch.table->attention_bias == model::AttentionBias::from_config;
  LLMC_TRY(load.plain(layer.input_norm_ + ".weight", {hidden}));
  LLMC_TRY(load.linear(layer.attention_.q, arch.num_heads * d, hidden, bias));
  LLMC_TRY(load.linear(layer.attention_.k, arch.num_kv_heads * d, hidden, bias));
  LLMC_TRY(load.linear(layer.attention_.v, arch.num_kv_heads * d, hidden, bias));
  LLMC_TRY(load.linear(layer.attention_.o, hidden, arch.num_heads * d, o_bias));
  if (layer.attention_.q_norm) LLMC_TRY(load.plain(*layer.attention_.q_norm + ".weight", {d}));
  if (layer.attention_.k_norm) LLMC_TRY(load.plain(*layer.attention_.k_norm + ".weight", {d}));
  LLMC_TRY(load.plain(layer.post_attention_norm_ + ".weight", {hidden}));
  auto load_mlp = [&](const MlpNames& names, int64_t intermediate) -> Status {
    LLMC_TRY(load.linear(names.gate, intermediate, hidden, false));
    LLMC_TRY(load.linear(names.up, intermediate, hidden, false));
    return load.linear(names.down, hidden, intermediate, false);
  };
  if (layer.moe_) {
    LLMC_TRY(load.linear(layer.moe_spec_.router, arch.num_experts, hidden, false));
    for (const MlpNames& expert : layer.moe_spec_.experts) LLMC_TRY(load_mlp(expert, arch.expert_intermediate_size));
  } else {
    LLMC_TRY(load_mlp(layer.mlp_, arch.intermediate_size));
  }
  return layer;
}

namespace {

std::string parent_of(const std::string& module) { return module.substr(0, module.rfind('.')); }

}  // namespace

std::string DecoderLayer::attention_block() const { return parent_of(attention_.q); }

std::string DecoderLayer::mlp_block() const { return parent_of(moe_ ? moe_spec_.router : mlp_.gate); }

const std::string& DecoderLayer::block_input_linear(std::string_view block) const {
  if (block == attention_block()) return attention_.q;
  return moe_ ? moe_spec_.router : mlp_.gate;
}

Expected<at::Tensor> DecoderLayer::run_module(std::string_view module, const at::Tensor& input,
                                              const BatchContext& batch) const {
  try {
    const LinearContext linears{weights_, activations_, nullptr, nullptr, batch.matmul};
    if (module == attention_block()) {
      const at::Tensor mask = attention_mask(batch.tokens, arch_->sliding_window[static_cast<size_t>(index_)]);
      return self_attention(*arch_, attention_, linears, input, batch, mask);
    }
    if (module == mlp_block()) return moe_ ? sparse_moe(moe_spec_, linears, input) : gated_mlp(mlp_, linears, input);
    const std::string name(module);
    if (std::find(linear_modules_.begin(), linear_modules_.end(), name) == linear_modules_.end())
      return Error{fmt::format("layer {} has no Linear or block named '{}'", index_, module)};
    return linear(linears, name, input);
  } catch (const std::exception& e) {
    return Error{fmt::format("layer {}: running {}: {}", index_, module, e.what())};
  }
}

Expected<at::Tensor> DecoderLayer::forward(const at::Tensor& hidden, const BatchContext& batch, const LinearTap* tap,
                                           const KvTap* kv) const {
  return run(hidden, batch, tap, kv, /*to_down_input=*/false);
}

Status DecoderLayer::observe(const at::Tensor& hidden, const BatchContext& batch, const LinearTap& tap,
                             const KvTap* kv, bool last_output) const {
  auto ran = run(hidden, batch, &tap, kv, /*to_down_input=*/!last_output && !moe_);
  if (!ran) return ran.error();
  return Status::ok();
}

Expected<at::Tensor> DecoderLayer::run(const at::Tensor& hidden, const BatchContext& batch, const LinearTap* tap,
                                       const KvTap* kv, bool to_down_input) const {
  try {
    const at::Tensor mask = attention_mask(batch.tokens, arch_->sliding_window[static_cast<size_t>(index_)]);
    const LinearContext linears{weights_, activations_, tap, kv, batch.matmul};
    const at::Tensor attended = self_attention(*arch_, attention_, linears,
                                               rms_norm(hidden, weights_.at(input_norm_ + ".weight"), arch_->norm_eps), batch,
                                               mask);
    const at::Tensor residual = hidden + attended;
    const at::Tensor normed = rms_norm(residual, weights_.at(post_attention_norm_ + ".weight"), arch_->norm_eps);
    if (to_down_input) {
      if (tap && *tap) (*tap)(mlp_.down, gated_mlp_down_input(mlp_, linears, normed), at::Tensor());
      return at::Tensor();
    }
    const at::Tensor mixed = moe_ ? sparse_moe(moe_spec_, linears, normed) : gated_mlp(mlp_, linears, normed);
    return residual + mixed;
  } catch (const std::exception& e) {  // c10::Error from a substituted weight of the wrong shape, out_of_range,
                                       // or a Linear's activation quantization (runtime_error naming it)
    return Error{fmt::format("layer {} forward: {}", index_, e.what())};
  }
}

}  // namespace llmc::exec
