// core/quant/observer.h - LLM Compressor's observers (observers/*.py): the statistics (min and max per
// qparam) of a weight or of a stream of activations, and the weight qparams and fused global scales built
// from them (imatrix_mse's also from the importance of the weight's inputs).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <span>

#include "quant/imatrix.h"
#include "quant/mse.h"
#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

enum class ObserverKind {
  memoryless_minmax,  // min/max of the last call
  static_minmax,      // running min of mins, max of maxes
  minmax,             // exponential moving average of min/max
  memoryless_mse,     // MSE range search on the last call
  mse,                // MSE range search, then the moving average
  imatrix_mse,        // MSE range search weighted by the input importance, on the last call
};

enum class ObservedTensor { weight, activation };

struct ObserverOptions {
  ObserverKind kind = ObserverKind::memoryless_minmax;
  double averaging_constant = 0.01;  // minmax and mse: new = old * (1 - c) + current * c
  MseOptions mse;
  bool strict = false;  // imatrix_mse: refuse (instead of warn and weigh uniformly) what it cannot weigh
};

/// The observer args.observer names (none: memoryless_minmax for weights, minmax for activations), with
/// observer_kwargs over its defaults. Weights always get a memoryless observer (minmax and static_minmax
/// become memoryless_minmax, mse becomes memoryless_mse), as LLM Compressor's initialize_observer does.
/// Known names: memoryless_minmax, static_minmax, minmax, memoryless_mse, mse, nvfp4_expanded_mse,
/// imatrix_mse, nvfp4_expanded_imatrix.
Expected<ObserverOptions> observer_options(const recipe::QuantArgs& args, ObservedTensor tensor);

/// Whether the weight observer `name` weighs its search by the importance of the module's inputs
/// (imatrix_mse, nvfp4_expanded_imatrix), which only calibration data gives.
bool uses_input_importance(std::string_view name);

/// LLM Compressor flatten_for_calibration: `value` as (observations, *qparam_shape, group_elements), so that
/// reducing dims (0, -1) gives one statistic per qparam. Block weights are zero-padded to whole blocks.
Expected<at::Tensor> flatten_for_calibration(const at::Tensor& value, const recipe::QuantArgs& args,
                                             ObservedTensor tensor);

/// The weight observer's statistics of `weight` ([out, in], or [E, out, in] but for block). imatrix_mse
/// weighs its search by `importance`; where it cannot (see importance_weights) it weighs uniformly after a
/// warning, as the reference does, or fails with observer_kwargs strict = true.
Expected<MinMax> observe_weight(const at::Tensor& weight, const recipe::QuantArgs& args,
                                const InputImportance* importance = nullptr);

/// The qparams LLM Compressor stores for a weight (observe + update_qparams): the observer's statistics,
/// calculate_qparams with the global scale (tensor_group: `global_scale`, else the weight's own), the
/// scale cast to the parameter's dtype (the weight's float dtype, float16 for other weights), the zero
/// point in zp_dtype (zeros when symmetric), the global scale float32 [1].
Expected<QParams> compute_weight_qparams(const at::Tensor& weight, const recipe::QuantArgs& args,
                                         const std::optional<at::Tensor>& global_scale = std::nullopt,
                                         const InputImportance* importance = nullptr);

/// The global scale tensor_group siblings share (q/k/v, gate/up), from every member's weight statistics;
/// pass it to compute_weight_qparams of each member. `importances` is empty or one per weight (null: none).
Expected<at::Tensor> compute_fused_global_scale(std::span<const at::Tensor> weights, const recipe::QuantArgs& args,
                                                std::span<const InputImportance* const> importances = {});

/// A stateful activation observer: update() once per batch, qparams() at the end (LLM Compressor computes
/// them at the end of each sequential epoch, then drops the statistics: call reset()).
class Observer {
 public:
  /// imatrix_mse weighs weights only: on activations it searches with uniform weights after a warning (an
  /// error with strict = true), as the reference does.
  static Expected<Observer> create(const recipe::QuantArgs& args);

  /// Folds one batch ([batch, seq, hidden] for token and group strategies) into the statistics; an empty
  /// tensor is ignored.
  Status update(const at::Tensor& observed);
  bool has_statistics() const { return stats_.has_value(); }
  const std::optional<MinMax>& statistics() const { return stats_; }
  /// calculate_qparams of the statistics, in their dtype (LLM Compressor then copies the scale into a
  /// parameter of the weight's dtype); tensor_group adds the global scale of the statistics.
  Expected<QParams> qparams() const;
  void reset() { stats_.reset(); }

 private:
  Observer(recipe::QuantArgs args, ObserverOptions options) : args_(std::move(args)), options_(options) {}

  recipe::QuantArgs args_;
  ObserverOptions options_;
  std::optional<MinMax> stats_;
};

}  // namespace llmc::quant
