// core/quant/observer.cpp - observers, flattening and weight qparams as LLM Compressor 0.14 computes them
// (observers/base.py, min_max.py, mse.py, imatrix.py, helpers.py; modifiers/quantization/calibration.py).
#include "quant/observer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cmath>
#include <mutex>
#include <set>
#include <string_view>

#include "quant/weight_kernels.h"
#include "util/log.h"

namespace llmc::quant {
namespace {

struct ObserverRow {
  std::string_view name;
  ObserverKind kind;
  ObserverKind weight_kind;  // initialize_observer: weights get a memoryless observer
  MseOptions mse_defaults;
};

constexpr MseOptions kMseDefaults{};
constexpr MseOptions kExpandedMseDefaults{1 - 0.8 / 1.8, 1000, 200.0, 2.4, 1.8};
constexpr MseOptions kImatrixDefaults{0.95, 5, 20.0, 3.0, 1.0};

constexpr std::array<ObserverRow, 8> kObservers{{
    {"memoryless_minmax", ObserverKind::memoryless_minmax, ObserverKind::memoryless_minmax, kMseDefaults},
    {"static_minmax", ObserverKind::static_minmax, ObserverKind::memoryless_minmax, kMseDefaults},
    {"minmax", ObserverKind::minmax, ObserverKind::memoryless_minmax, kMseDefaults},
    {"memoryless_mse", ObserverKind::memoryless_mse, ObserverKind::memoryless_mse, kMseDefaults},
    {"mse", ObserverKind::mse, ObserverKind::memoryless_mse, kMseDefaults},
    {"nvfp4_expanded_mse", ObserverKind::memoryless_mse, ObserverKind::memoryless_mse, kExpandedMseDefaults},
    {"imatrix_mse", ObserverKind::imatrix_mse, ObserverKind::imatrix_mse, kImatrixDefaults},
    {"nvfp4_expanded_imatrix", ObserverKind::imatrix_mse, ObserverKind::imatrix_mse, kExpandedMseDefaults},
}};

const ObserverRow* find_observer(std::string_view name) {
  for (const ObserverRow& row : kObservers)
    if (row.name == name) return &row;
  return nullptr;
}

// Overrides `value` with the number observer_kwargs[key] holds, if any.
Status read_kwarg(const nlohmann::json& kwargs, std::string_view key, double& value) {
  const auto it = kwargs.find(std::string(key));
  if (it == kwargs.end()) return Status::ok();
  if (!it->is_number()) return Error{fmt::format("observer_kwargs.{} must be a number, got {}", key, it->dump())};
  value = it->get<double>();
  return Status::ok();
}

// Overrides `value` with the boolean observer_kwargs[key] holds, if any.
Status read_kwarg(const nlohmann::json& kwargs, std::string_view key, bool& value) {
  const auto it = kwargs.find(std::string(key));
  if (it == kwargs.end()) return Status::ok();
  if (!it->is_boolean())
    return Error{fmt::format("observer_kwargs.{} must be true or false, got {}", key, it->dump())};
  value = it->get<bool>();
  return Status::ok();
}

// IMatrixMSEObserver's checks of its kwargs.
Status check_imatrix_options(const MseOptions& mse) {
  if (!(mse.grid > 0)) return Error{fmt::format("grid must be > 0, got {}", mse.grid)};
  if (!(mse.patience >= 0)) return Error{fmt::format("patience must be >= 0, got {}", mse.patience)};
  if (!(mse.maxshrink >= 0 && mse.maxshrink <= 1))
    return Error{fmt::format("maxshrink must be in [0, 1], got {}", mse.maxshrink)};
  if (!std::isfinite(mse.norm) || mse.norm <= 0)
    return Error{fmt::format("norm must be a finite positive number, got {}", mse.norm)};
  return Status::ok();
}

// The reference logs each imatrix_mse fallback once per process (log_once).
void warn_once(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> said;
  const std::lock_guard lock(mutex);
  if (said.insert(message).second) log::warning("{}", message);
}

bool is_mse(ObserverKind kind) { return kind == ObserverKind::memoryless_mse || kind == ObserverKind::mse; }

MinMax min_max(const at::Tensor& observed) {
  return {at::amin(observed, {0, -1}), at::amax(observed, {0, -1})};
}

// helpers.lerp: torch.lerp lacks some dtypes, so LLM Compressor spells it out.
at::Tensor lerp(const at::Tensor& start, const at::Tensor& end, double weight) {
  return start * (1.0 - weight) + end * weight;
}

// The statistics of one flattened observation under `options`, folded into `previous` where the kind keeps
// state. `importance` weighs imatrix_mse's search (undefined: uniformly).
Expected<MinMax> observe(const at::Tensor& observed, const recipe::QuantArgs& args, const ObserverOptions& options,
                         const std::optional<MinMax>& previous, const at::Tensor& importance = {}) {
  MinMax current;
  if (options.kind == ObserverKind::imatrix_mse) {
    auto searched = grid_search_imatrix(observed, args, options.mse, importance);
    LLMC_TRY(searched);
    current = *searched;
  } else if (is_mse(options.kind)) {
    auto searched = grid_search_mse(observed, args, options.mse);
    LLMC_TRY(searched);
    current = *searched;
  } else {
    current = min_max(observed);
  }
  if (!previous) return current;
  switch (options.kind) {
    case ObserverKind::static_minmax:
      return MinMax{at::minimum(current.min_vals, previous->min_vals), at::maximum(current.max_vals, previous->max_vals)};
    case ObserverKind::minmax:
    case ObserverKind::mse:
      if (options.averaging_constant == 1.0) return current;
      return MinMax{lerp(previous->min_vals, current.min_vals, options.averaging_constant),
                    lerp(previous->max_vals, current.max_vals, options.averaging_constant)};
    default: return current;
  }
}

Expected<at::Tensor> flatten_weight(const at::Tensor& value, const recipe::QuantArgs& args) {
  switch (*args.strategy) {
    case recipe::Strategy::tensor: return value.reshape({1, 1, -1});
    case recipe::Strategy::channel: return value.unsqueeze(-2).unsqueeze(0);
    case recipe::Strategy::group:
    case recipe::Strategy::tensor_group: {
      const int64_t group_size = args.group_size.value_or(0);
      if (group_size <= 0 || value.size(-1) % group_size != 0) {
        return Error{fmt::format("{} quantization needs the input width ({}) divisible by group_size {}",
                                 recipe::to_string(*args.strategy), value.size(-1), group_size)};
      }
      return value.unflatten(-1, {-1, group_size}).unsqueeze(0);
    }
    case recipe::Strategy::block: {
      if (!args.block_structure) return Error{"strategy 'block' requires block_structure"};
      if (value.dim() != 2) return Error{fmt::format("block quantization needs a 2-D weight, got {}-D", value.dim())};
      const auto [block_height, block_width] = *args.block_structure;
      const int64_t pad_rows = (block_height - value.size(0) % block_height) % block_height;
      const int64_t pad_cols = (block_width - value.size(1) % block_width) % block_width;
      const at::Tensor padded =
          pad_rows == 0 && pad_cols == 0 ? value : at::constant_pad_nd(value, {0, pad_cols, 0, pad_rows}, 0);
      return padded.reshape({padded.size(0) / block_height, block_height, padded.size(1) / block_width, block_width})
          .transpose(1, 2)
          .flatten(-2, -1)
          .unsqueeze(0);
    }
    default:
      return Error{fmt::format("strategy '{}' cannot be applied to weights", recipe::to_string(*args.strategy))};
  }
}

Expected<at::Tensor> flatten_activation(const at::Tensor& value, const recipe::QuantArgs& args) {
  switch (*args.strategy) {
    case recipe::Strategy::tensor: return value.reshape({-1, 1, value.size(-1)});
    case recipe::Strategy::token: return value;
    case recipe::Strategy::group:
    case recipe::Strategy::tensor_group: {
      const int64_t group_size = args.group_size.value_or(0);
      if (value.dim() < 2 || group_size <= 0 || value.size(-1) % group_size != 0) {
        return Error{fmt::format("{} activation quantization needs the hidden size ({}) divisible by group_size {}",
                                 recipe::to_string(*args.strategy), value.size(-1), group_size)};
      }
      return value.flatten(0, 1).unflatten(-1, {-1, group_size});
    }
    default:
      return Error{fmt::format("strategy '{}' cannot be applied to activations", recipe::to_string(*args.strategy))};
  }
}

// The qparam parameter's dtype (CT initialize_qparams): the observed float dtype, float16 for any other.
at::ScalarType scale_parameter_dtype(at::ScalarType observed) {
  switch (observed) {
    case at::kHalf:
    case at::kBFloat16:
    case at::kFloat:
    case at::kDouble: return observed;
    default: return at::kHalf;
  }
}

}  // namespace

Expected<ObserverOptions> observer_options(const recipe::QuantArgs& args, ObservedTensor tensor) {
  const std::string_view name =
      args.observer ? std::string_view(*args.observer)
                    : (tensor == ObservedTensor::weight ? "memoryless_minmax" : "minmax");
  const ObserverRow* row = find_observer(name);
  if (row == nullptr) {
    std::vector<std::string_view> names;
    for (const ObserverRow& candidate : kObservers) names.push_back(candidate.name);
    return Error{fmt::format("observer '{}' is not supported; supported: {}", name, fmt::join(names, ", "))};
  }
  ObserverOptions options{tensor == ObservedTensor::weight ? row->weight_kind : row->kind, 0.01, row->mse_defaults};
  const nlohmann::json& kwargs = args.observer_kwargs;
  LLMC_TRY(read_kwarg(kwargs, "averaging_constant", options.averaging_constant));
  LLMC_TRY(read_kwarg(kwargs, "maxshrink", options.mse.maxshrink));
  LLMC_TRY(read_kwarg(kwargs, "patience", options.mse.patience));
  LLMC_TRY(read_kwarg(kwargs, "grid", options.mse.grid));
  LLMC_TRY(read_kwarg(kwargs, "norm", options.mse.norm));
  LLMC_TRY(read_kwarg(kwargs, "expand", options.mse.expand));
  LLMC_TRY(read_kwarg(kwargs, "strict", options.strict));
  if (options.kind == ObserverKind::imatrix_mse) LLMC_TRY(check_imatrix_options(options.mse));
  if (options.mse.expand < 1.0) return Error{fmt::format("expand value must be at least 1.0, got {}", options.mse.expand)};
  return options;
}

bool uses_input_importance(std::string_view name) {
  const ObserverRow* row = find_observer(name);
  return row != nullptr && row->weight_kind == ObserverKind::imatrix_mse;
}

Expected<at::Tensor> flatten_for_calibration(const at::Tensor& value, const recipe::QuantArgs& args,
                                             ObservedTensor tensor) {
  if (!args.strategy) return Error{"quantization args without a strategy (finalize them first)"};
  return tensor == ObservedTensor::weight ? flatten_weight(value, args) : flatten_activation(value, args);
}

Expected<MinMax> observe_weight(const at::Tensor& weight, const recipe::QuantArgs& args,
                                const InputImportance* importance) {
  if (args.dynamic == recipe::Dynamic::on) return Error{"dynamic weights have no observer (their qparams are not stored)"};
  if (weight.numel() == 0) return Error{"cannot observe an empty weight"};
  auto options = observer_options(args, ObservedTensor::weight);
  LLMC_TRY(options);
  if (options->kind == ObserverKind::memoryless_minmax) {
    if (auto fused = fused_weight_min_max(weight, args)) return *std::move(fused);
  }
  auto observed = flatten_for_calibration(weight, args, ObservedTensor::weight);
  LLMC_TRY(observed);
  at::Tensor weights;
  if (options->kind == ObserverKind::imatrix_mse) {
    auto prepared = importance_weights(importance, weight, *observed, args);
    if (prepared) {
      weights = *prepared;
    } else if (options->strict) {
      return Error{fmt::format("imatrix_mse: {}", prepared.error().message)};
    } else {
      warn_once(fmt::format("imatrix_mse: {}; falling back to uniform MSE", prepared.error().message));
    }
  }
  return observe(*observed, args, *options, std::nullopt, weights);
}

Expected<QParams> compute_weight_qparams(const at::Tensor& weight, const recipe::QuantArgs& args,
                                         const std::optional<at::Tensor>& global_scale,
                                         const InputImportance* importance) {
  auto stats = observe_weight(weight, args, importance);
  LLMC_TRY(stats);
  std::optional<at::Tensor> global = global_scale;
  if (args.strategy != recipe::Strategy::tensor_group) {
    if (global) return Error{"a global scale needs strategy tensor_group"};
  } else if (!global) {
    global = fused_global_scale(std::span<const MinMax>(&*stats, 1));
  }
  auto qparams = calculate_qparams(*stats, args, global);
  LLMC_TRY(qparams);
  qparams->scale = qparams->scale.to(scale_parameter_dtype(weight.scalar_type()));
  return qparams;
}

Expected<at::Tensor> compute_fused_global_scale(std::span<const at::Tensor> weights, const recipe::QuantArgs& args,
                                                std::span<const InputImportance* const> importances) {
  if (args.strategy != recipe::Strategy::tensor_group) return Error{"fused global scales need strategy tensor_group"};
  if (weights.empty()) return Error{"no weights to fuse"};
  if (!importances.empty() && importances.size() != weights.size())
    return Error{fmt::format("{} importances for {} weights", importances.size(), weights.size())};
  std::vector<MinMax> members;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto stats = observe_weight(weights[i], args, importances.empty() ? nullptr : importances[i]);
    LLMC_TRY(stats);
    members.push_back(*stats);
  }
  return fused_global_scale(members);
}

Expected<Observer> Observer::create(const recipe::QuantArgs& args) {
  if (!args.strategy) return Error{"quantization args without a strategy (finalize them first)"};
  if (args.dynamic == recipe::Dynamic::on) return Error{"dynamic activations have no observer"};
  auto options = observer_options(args, ObservedTensor::activation);
  LLMC_TRY(options);
  if (options->kind == ObserverKind::imatrix_mse) {
    if (options->strict) return Error{"imatrix_mse: only supported for weight observers"};
    warn_once("imatrix_mse: only supported for weight observers; falling back to uniform MSE");
  }
  return Observer(args, *options);
}

Status Observer::update(const at::Tensor& observed) {
  if (observed.numel() == 0) return Status::ok();
  auto flat = flatten_for_calibration(observed, args_, ObservedTensor::activation);
  LLMC_TRY(flat);
  auto stats = observe(*flat, args_, options_, stats_);
  LLMC_TRY(stats);
  stats_ = *stats;
  return Status::ok();
}

Expected<QParams> Observer::qparams() const {
  if (!stats_) return Error{"the observer has no statistics: update() it first"};
  std::optional<at::Tensor> global;
  if (args_.strategy == recipe::Strategy::tensor_group) global = fused_global_scale(std::span<const MinMax>(&*stats_, 1));
  return calculate_qparams(*stats_, args_, global);
}

}  // namespace llmc::quant
