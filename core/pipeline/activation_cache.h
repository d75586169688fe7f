// core/pipeline/activation_cache.h - the calibration samples' hidden states between decoder layers (DESIGN.md
// "The run", step 5): in memory, or in a spill file when the run's memory budget cannot hold them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/spill_file.h"
#include "tensor/memory_budget.h"
#include "util/expected.h"

namespace llmc::pipeline {

/// Per sample, the current layer's input [1, tokens, hidden] and the next layer's input as the layer writes
/// it. Double-buffered: a spill file holds two regions of one layer's inputs that swap roles at each layer;
/// in memory, writing a sample's next input releases its current one.
class ActivationCache {
 public:
  /// The cache's share of a memory budget: the other half is left for a layer's weights and the plugins'
  /// working set.
  static uint64_t memory_share(uint64_t budget_bytes) { return budget_bytes / 2; }
  /// The rule: in memory without a budget (0) or when the cache takes at most its share; spilled otherwise.
  static bool fits_in_memory(uint64_t cache_bytes, uint64_t budget_bytes) {
    return budget_bytes == 0 || cache_bytes <= memory_share(budget_bytes);
  }

  /// A cache for samples of `sample_tokens[i]` tokens x `hidden` features of `dtype`: in memory and charged
  /// to `budget` when it fits_in_memory(its bytes, budget.limit()), else in a spill file created in
  /// `spill_directory`. `budget` must outlive the cache.
  static Expected<std::unique_ptr<ActivationCache>> create(std::vector<int64_t> sample_tokens, int64_t hidden,
                                                           at::ScalarType dtype, MemoryBudget& budget,
                                                           const std::filesystem::path& spill_directory);
  ActivationCache(const ActivationCache&) = delete;
  ActivationCache& operator=(const ActivationCache&) = delete;
  ~ActivationCache();

  size_t samples() const { return tokens_.size(); }
  uint64_t tokens() const;
  /// One layer's inputs: samples x tokens x hidden x dtype size.
  uint64_t bytes() const { return bytes_; }
  uint64_t sample_bytes(size_t sample) const;
  /// Null when the cache is in memory.
  const SpillFile* spill_file() const { return file_.get(); }
  /// "activation cache: 16 samples, 8192 tokens, 9.0 MiB in memory", or "... spilled to FILE (memory budget ...)".
  std::string summary() const;

  /// The current layer's input of `sample`, until write(sample) replaces it.
  Expected<at::Tensor> read(size_t sample) const;
  /// The next layer's input of `sample`.
  Status write(size_t sample, const at::Tensor& hidden);
  /// Once every sample is written: what was written becomes what read() returns.
  Status next_layer();

 private:
  ActivationCache() = default;
  Status check(size_t sample) const;
  uint64_t offset(size_t region, size_t sample) const { return region * bytes_ + offsets_[sample]; }

  std::vector<int64_t> tokens_;   // per sample
  std::vector<uint64_t> offsets_;  // per sample, within a region of the spill file
  int64_t hidden_ = 0;
  at::ScalarType dtype_ = at::kFloat;
  uint64_t bytes_ = 0;
  uint64_t budget_bytes_ = 0;
  MemoryBudget* charged_ = nullptr;  // the budget an in-memory cache's bytes are reserved from
  std::vector<at::Tensor> inputs_, outputs_;  // in memory
  std::unique_ptr<SpillFile> file_;
  size_t input_region_ = 0;  // which of the spill file's two regions holds the current inputs
  std::vector<bool> written_;
  bool has_inputs_ = false;
};

}  // namespace llmc::pipeline
