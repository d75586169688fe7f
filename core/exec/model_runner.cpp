// core/exec/model_runner.cpp - the layer-streamed driver.
#include "exec/model_runner.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "exec/linear.h"
#include "exec/norm.h"

namespace llmc::exec {

Expected<at::Tensor> Head::forward(const at::Tensor& hidden) const {
  try {
    return run_linear(module_, rms_norm(hidden, norm_, eps_), weight_, at::Tensor(), &activations_, nullptr, matmul_);
  } catch (const c10::Error& e) {
    return Error{fmt::format("head forward: {}", e.what_without_backtrace())};
  } catch (const std::runtime_error& e) {  // the head's activation quantization
    return Error{fmt::format("head forward: {}", e.what())};
  }
}

ModelRunner::ModelRunner(const model::Checkpoint& checkpoint, model::Architecture arch, std::unique_ptr<WeightSource> weights,
                         ComputeOptions options)
    : checkpoint_(&checkpoint),
      arch_(std::move(arch)),
      weights_(std::move(weights)),
      options_(options),
      rope_(arch_.rope, arch_.head_dim, options.device) {}

Expected<std::unique_ptr<ModelRunner>> ModelRunner::open(const std::filesystem::path& dir, ComputeOptions options) {
  auto checkpoint = model::Checkpoint::open(dir);
  LLMC_TRY(checkpoint);
  auto owned = std::make_unique<model::Checkpoint>(std::move(*checkpoint));
  auto weights = open_weight_source(*owned, options);
  LLMC_TRY(weights);
  auto runner = create(*owned, std::move(*weights), options);
  LLMC_TRY(runner);
  (*runner)->owned_checkpoint_ = std::move(owned);
  return runner;
}

Expected<std::unique_ptr<ModelRunner>> ModelRunner::create(const model::Checkpoint& checkpoint,
                                                           std::unique_ptr<WeightSource> weights, ComputeOptions options) {
  auto arch = model::resolve_architecture(checkpoint.config());
  if (!arch) return Error{fmt::format("{}: {}", checkpoint.dir().string(), arch.error().message)};
  return std::unique_ptr<ModelRunner>(new ModelRunner(checkpoint, std::move(*arch), std::move(weights), options));
}

Expected<at::Tensor> ModelRunner::embedding_table() {
  const std::string name = fmt::format("{}.weight", arch_.table->embedding);
  auto table = weights_->tensor(name);
  LLMC_TRY(table);
  if (table->dim() != 2 || table->size(0) != arch_.vocab_size || table->size(1) != arch_.hidden_size)
    return Error{fmt::format("tensor '{}' has shape [{}], the config implies [{}, {}]", name, fmt::join(table->sizes(), ", "),
                             arch_.vocab_size, arch_.hidden_size)};
  return table;
}

Expected<at::Tensor> ModelRunner::embed_with(const at::Tensor& table, const at::Tensor& ids) const {
  if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= arch_.vocab_size))
    return Error{fmt::format("token ids must lie in [0, {}), got [{}, {}]", arch_.vocab_size, ids.min().item<int64_t>(),
                             ids.max().item<int64_t>())};
  return at::embedding(table, ids.to(options_.device, at::kLong));
}

Expected<at::Tensor> ModelRunner::embed(const at::Tensor& ids) {
  auto table = embedding_table();
  LLMC_TRY(table);
  return embed_with(*table, ids);
}

Expected<std::vector<at::Tensor>> ModelRunner::embed_batches(std::span<const Batch> batches) {
  auto table = embedding_table();
  LLMC_TRY(table);
  std::vector<at::Tensor> hidden;
  for (const Batch& batch : batches) {
    auto embedded = embed_with(*table, batch.ids);
    LLMC_TRY(embedded);
    hidden.push_back(std::move(*embedded));
  }
  return hidden;
}

Expected<BatchContext> ModelRunner::context(const Batch& batch) const {
  if (batch.ids.dim() != 2) return Error{fmt::format("token ids must be [batch, length], got [{}]", fmt::join(batch.ids.sizes(), ", "))};
  BatchContext context;
  context.attention = options_.attention;
  context.matmul = options_.matmul;
  if (batch.attention_mask.defined()) {
    if (batch.attention_mask.sizes() != batch.ids.sizes())
      return Error{fmt::format("attention mask [{}] does not match the token ids [{}]", fmt::join(batch.attention_mask.sizes(), ", "),
                               fmt::join(batch.ids.sizes(), ", "))};
    context.tokens = batch.attention_mask.to(options_.device).ne(0);
  } else {
    context.tokens = at::ones(batch.ids.sizes(), at::TensorOptions().dtype(at::kBool).device(options_.device));
  }
  const at::Tensor positions = (context.tokens.to(at::kLong).cumsum(1) - 1).clamp_min(0);
  std::tie(context.cos, context.sin) = rope_.cos_sin(positions, options_.dtype);
  return context;
}

Expected<Head> ModelRunner::load_head() {
  Head head;
  const std::string norm_name = fmt::format("{}.weight", arch_.table->final_norm);
  auto norm = weights_->tensor(norm_name);
  LLMC_TRY(norm);
  if (norm->sizes() != at::IntArrayRef{arch_.hidden_size})
    return Error{fmt::format("tensor '{}' has shape [{}], the config implies [{}]", norm_name, fmt::join(norm->sizes(), ", "),
                             arch_.hidden_size)};
  head.module_ = arch_.tie_word_embeddings ? std::string(arch_.table->embedding) : std::string(arch_.table->head);
  auto linear = [&]() -> Expected<LinearWeight> {
    if (!arch_.tie_word_embeddings) return weights_->linear_weight(arch_.table->head);
    auto tied = weights_->tensor(fmt::format("{}.weight", arch_.table->embedding));
    LLMC_TRY(tied);
    return LinearWeight{std::move(*tied), {}};
  }();
  LLMC_TRY(linear);
  const at::Tensor& weight = linear->weight;
  if (weight.dim() != 2 || weight.size(0) != arch_.vocab_size || weight.size(1) != arch_.hidden_size)
    return Error{fmt::format("the head weight ({}) has shape [{}], the config implies [{}, {}]",
                             arch_.tie_word_embeddings ? "tied to the embedding" : std::string(arch_.table->head),
                             fmt::join(weight.sizes(), ", "), arch_.vocab_size, arch_.hidden_size)};
  head.norm_ = std::move(*norm);
  head.weight_ = std::move(linear->weight);
  head.activations_ = std::move(linear->activations);
  head.eps_ = arch_.norm_eps;
  head.matmul_ = options_.matmul;
  return head;
}

Expected<std::vector<at::Tensor>> ModelRunner::final_hidden_states(std::span<const Batch> batches,
                                                                   const StreamHooks& hooks) {
  std::vector<at::Tensor> hidden;
  std::vector<BatchContext> contexts;
  for (const Batch& batch : batches) {
    auto context = this->context(batch);
    LLMC_TRY(context);
    contexts.push_back(std::move(*context));
  }
  auto embedded = embed_batches(batches);
  LLMC_TRY(embedded);
  hidden = std::move(*embedded);
  const LinearTap* tap = hooks.tap ? &hooks.tap : nullptr;
  for (int64_t i = 0; i < arch_.num_layers; ++i) {
    auto layer = load_layer(i);
    LLMC_TRY(layer);
    if (hooks.on_layer) LLMC_TRY(hooks.on_layer(*layer));
    for (size_t b = 0; b < hidden.size(); ++b) {
      auto next = layer->forward(hidden[b], contexts[b], tap);
      LLMC_TRY(next);
      hidden[b] = std::move(*next);
    }
  }
  return hidden;
}

Status ModelRunner::run(std::span<const Batch> batches, const LogitsCallback& on_logits, const StreamHooks& hooks) {
  auto hidden = final_hidden_states(batches, hooks);
  LLMC_TRY(hidden);
  auto head = load_head();
  LLMC_TRY(head);
  for (size_t b = 0; b < hidden->size(); ++b) {
    auto logits = head->forward((*hidden)[b]);
    LLMC_TRY(logits);
    (*hidden)[b] = at::Tensor();
    LLMC_TRY(on_logits(b, *logits));
  }
  return Status::ok();
}

}  // namespace llmc::exec
