// core/pipeline/activation_cache.cpp
#include "pipeline/activation_cache.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <span>

#include "tensor/format_bytes.h"

namespace llmc::pipeline {
namespace {

std::span<std::byte> bytes_of(const at::Tensor& contiguous) {
  return {static_cast<std::byte*>(contiguous.data_ptr()), contiguous.nbytes()};
}

}  // namespace

Expected<std::unique_ptr<ActivationCache>> ActivationCache::create(std::vector<int64_t> sample_tokens, int64_t hidden,
                                                                   at::ScalarType dtype, MemoryBudget& budget,
                                                                   const std::filesystem::path& spill_directory) {
  std::unique_ptr<ActivationCache> cache(new ActivationCache());
  cache->hidden_ = hidden;
  cache->dtype_ = dtype;
  cache->budget_bytes_ = budget.limit();
  for (const int64_t tokens : sample_tokens) {
    cache->offsets_.push_back(cache->bytes_);
    cache->bytes_ += static_cast<uint64_t>(tokens * hidden) * c10::elementSize(dtype);
  }
  cache->tokens_ = std::move(sample_tokens);
  cache->written_.assign(cache->tokens_.size(), false);
  if (fits_in_memory(cache->bytes_, budget.limit())) {
    LLMC_TRY(budget.reserve(cache->bytes_, "the activation cache"));
    cache->charged_ = &budget;
    cache->inputs_.resize(cache->tokens_.size());
    cache->outputs_.resize(cache->tokens_.size());
    return cache;
  }
  auto file = SpillFile::create(spill_directory, ".activations-", 2 * cache->bytes_);
  if (!file) return Error{fmt::format("activation cache: {}", file.error().message)};
  cache->file_ = std::move(*file);
  return cache;
}

ActivationCache::~ActivationCache() {
  if (charged_) charged_->release(bytes_);
}

uint64_t ActivationCache::tokens() const {
  return std::accumulate(tokens_.begin(), tokens_.end(), uint64_t{0});
}

uint64_t ActivationCache::sample_bytes(size_t sample) const {
  return (sample + 1 < offsets_.size() ? offsets_[sample + 1] : bytes_) - offsets_[sample];
}

std::string ActivationCache::summary() const {
  const std::string head =
      fmt::format("activation cache: {} samples, {} tokens, {}", samples(), tokens(), format_bytes(bytes_));
  if (!file_) return head + " in memory";
  return fmt::format("{} spilled to {} (memory budget {})", head, file_->path().string(), format_bytes(budget_bytes_));
}

Status ActivationCache::check(size_t sample) const {
  if (sample >= samples()) return Error{fmt::format("activation cache: no sample {} (it holds {})", sample, samples())};
  return Status::ok();
}

Expected<at::Tensor> ActivationCache::read(size_t sample) const {
  LLMC_TRY(check(sample));
  if (!has_inputs_ || written_[sample])
    return Error{fmt::format("activation cache: sample {} has no input to read (none written yet, or the next "
                             "layer's input already replaced it)",
                             sample)};
  if (!file_) return inputs_[sample];
  at::Tensor input = at::empty({1, tokens_[sample], hidden_}, at::TensorOptions().dtype(dtype_));
  if (auto status = file_->read(offset(input_region_, sample), bytes_of(input)); !status)
    return Error{fmt::format("activation cache, sample {}: {}", sample, status.error().message)};
  return input;
}

Status ActivationCache::write(size_t sample, const at::Tensor& hidden) {
  LLMC_TRY(check(sample));
  const std::vector<int64_t> shape{1, tokens_[sample], hidden_};
  if (hidden.scalar_type() != dtype_ || hidden.sizes() != at::IntArrayRef(shape))
    return Error{fmt::format("activation cache: sample {} holds [{}] {}, got [{}] {}", sample, fmt::join(shape, ", "),
                             c10::toString(dtype_), fmt::join(hidden.sizes(), ", "), c10::toString(hidden.scalar_type()))};
  if (file_) {
    const at::Tensor contiguous = hidden.cpu().contiguous();
    if (auto status = file_->write(offset(1 - input_region_, sample), bytes_of(contiguous)); !status)
      return Error{fmt::format("activation cache, sample {}: {}", sample, status.error().message)};
  } else {
    inputs_[sample] = at::Tensor();
    outputs_[sample] = hidden;
  }
  written_[sample] = true;
  return Status::ok();
}

Status ActivationCache::next_layer() {
  if (const auto missing = std::find(written_.begin(), written_.end(), false); missing != written_.end())
    return Error{fmt::format("activation cache: sample {} has no input for the next layer",
                             std::distance(written_.begin(), missing))};
  if (file_)
    input_region_ = 1 - input_region_;
  else
    inputs_.swap(outputs_);  // outputs_ now holds the released inputs
  std::fill(written_.begin(), written_.end(), false);
  has_inputs_ = true;
  return Status::ok();
}

}  // namespace llmc::pipeline
