// core/pipeline/layer_calibration.h - the calibrated part of a run (DESIGN.md "The run", step 5-6): the
// calibration samples' hidden states, cached between layers; per decoder layer, each calibrating modifier's
// forward pass with taps feeding its plugin, its compress, and the propagation of the compressed layer.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "exec/model_runner.h"
#include "model/checkpoint.h"
#include "pipeline/activation_cache.h"
#include "pipeline/layer_unit.h"
#include "pipeline/modifier_run.h"
#include "plugin/host_api.h"
#include "util/event_log.h"
#include "util/expected.h"

namespace llmc::pipeline {

/// Compresses `modules` of `unit` with `run`, the plugin reaching the unit through `access` (the oneshot loop's
/// step, shared with data-free units).
using CompressStep = std::function<Status(ModifierRun& run, plugin::LayerAccess& access, LayerUnit& unit,
                                          std::vector<llmc_module_info>& modules)>;

class LayerCalibration {
 public:
  /// Embeds every sample (one batch each, as the reference's batch_size 1) with the checkpoint's embedding
  /// into the activation cache, in memory or spilled to a file in `spill_directory` as `budget` says;
  /// layers run in the checkpoint's dtype, with weights as stored and no activation quantization (the
  /// reference calibrates with quantization disabled), their matmuls in `matmul` (none: resolved for the CPU).
  static Expected<std::unique_ptr<LayerCalibration>> start(const model::Checkpoint& checkpoint,
                                                          const std::vector<std::vector<int32_t>>& samples,
                                                          MemoryBudget& budget,
                                                          const std::filesystem::path& spill_directory,
                                                          std::optional<exec::MatmulMath> matmul);

  /// Decoder layer `unit`: for each modifier in recipe order that claims modules in it, a calibration pass
  /// (when its plugin calibrates) on the layer as the earlier modifiers left it, then its compress; then the
  /// layer runs with every edit on the cached hidden states, which become the next layer's inputs (the last
  /// layer does not run: nothing reads its output).
  Status process(LayerUnit& unit, std::vector<ModifierRun>& runs, std::span<const size_t> unit_modules,
                 const CompressStep& compress, EventLog& events);

  size_t batches() const { return cache_->samples(); }
  size_t tokens() const { return cache_->tokens(); }
  const ActivationCache& cache() const { return *cache_; }
  exec::MatmulMath matmul() const { return runner_->matmul(); }

 private:
  LayerCalibration() = default;
  Status calibrate(ModifierRun& run, const exec::DecoderLayer& layer, class CalibratedLayer& access,
                   const std::vector<llmc_module_info>& modules, class ActivationObservers& observers);

  std::unique_ptr<exec::ModelRunner> runner_;
  std::unique_ptr<ActivationCache> cache_;  // per batch [1, T, hidden]: the layer's input
  std::vector<exec::BatchContext> contexts_;
};

}  // namespace llmc::pipeline
