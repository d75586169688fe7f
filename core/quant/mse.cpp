// core/quant/mse.cpp - _grid_search_mse and _calculate_error of LLM Compressor 0.14, and imatrix_mse's
// _grid_search, op for op.
#include "quant/mse.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "quant/quantize.h"
#include "quant/value_format.h"

namespace llmc::quant {
namespace {

// The candidates' args: for tensor_group the scale_dtype rounding (like the global scale) stays out of the
// search; the fake quantization broadcasts one scale per qparam, which the token strategy does.
struct SearchArgs {
  recipe::QuantArgs qparams;
  recipe::QuantArgs fake_quantize;
};

SearchArgs search_args(const recipe::QuantArgs& args) {
  SearchArgs search{args, args};
  if (args.strategy == recipe::Strategy::tensor_group) search.qparams.scale_dtype.reset();
  search.fake_quantize = search.qparams;
  search.fake_quantize.strategy = recipe::Strategy::token;
  return search;
}

// `observed` fake-quantized with the qparams of the candidate range.
Expected<at::Tensor> fake_quantize_candidate(const at::Tensor& observed, const SearchArgs& args, const MinMax& range) {
  auto candidate = calculate_qparams(range, args.qparams);
  LLMC_TRY(candidate);
  const QParams broadcast{candidate->scale.unsqueeze(-1), candidate->zero_point->unsqueeze(-1), std::nullopt,
                          std::nullopt};
  return fake_quantize(observed, broadcast, args.fake_quantize);
}

// One search step's bookkeeping: where `err` beats `best_error`, that row takes the candidate range. Whether
// any row improved.
bool keep_improved(const at::Tensor& err, const at::Tensor& candidate_min, const at::Tensor& candidate_max,
                   at::Tensor& best_error, at::Tensor& best_min, at::Tensor& best_max) {
  const at::Tensor improved = err < best_error;
  if (!improved.any().item<bool>()) return false;
  best_error = at::where(improved, err, best_error);
  best_min = at::where(improved, candidate_min, best_min);
  best_max = at::where(improved, candidate_max, best_max);
  return true;
}

}  // namespace

Expected<MinMax> grid_search_mse(const at::Tensor& observed, const recipe::QuantArgs& args,
                                 const MseOptions& options) {
  const SearchArgs search = search_args(args);
  const at::Tensor min_val = at::amin(observed, {0, -1}) * options.expand;
  const at::Tensor max_val = at::amax(observed, {0, -1}) * options.expand;
  const DTypeInfo* info = dtype_info(min_val.scalar_type());
  at::Tensor best_error = at::full_like(min_val, info != nullptr ? info->max : 0.0);
  at::Tensor best_min = min_val.clone(), best_max = max_val.clone();

  const auto total_steps = static_cast<int64_t>(options.maxshrink * options.grid);
  int64_t no_improve_count = 0;
  for (int64_t i = 0; i < total_steps; ++i) {
    const double p = 1 - static_cast<double>(i) / options.grid;
    const at::Tensor shrinked_min = min_val * p, shrinked_max = max_val * p;
    auto q = fake_quantize_candidate(observed, search, MinMax{shrinked_min, shrinked_max});
    LLMC_TRY(q);
    const at::Tensor err = at::sum(at::pow(at::abs(q->to(observed.scalar_type()) - observed), options.norm), at::IntArrayRef{0, -1});
    if (keep_improved(err, shrinked_min, shrinked_max, best_error, best_min, best_max)) {
      no_improve_count = 0;
    } else if (++no_improve_count >= options.patience) {
      break;
    }
  }
  return MinMax{best_min, best_max};
}

Expected<MinMax> grid_search_imatrix(const at::Tensor& observed, const recipe::QuantArgs& args,
                                     const MseOptions& options, const at::Tensor& importance) {
  const SearchArgs search = search_args(args);
  const at::Tensor min_val = at::amin(observed, {0, -1}) * options.expand;
  const at::Tensor max_val = at::amax(observed, {0, -1}) * options.expand;
  at::Tensor best_error =
      at::full(min_val.sizes(), std::numeric_limits<float>::max(), min_val.options().dtype(at::kFloat));
  at::Tensor best_min = min_val.clone(), best_max = max_val.clone();
  const at::Tensor observed_f = observed.to(at::kFloat);

  const int64_t shrink_steps = std::max<int64_t>(1, static_cast<int64_t>(options.maxshrink * options.grid));
  int64_t no_improve = 0;
  for (int64_t i = 0; i <= shrink_steps; ++i) {
    const double p = 1 - static_cast<double>(i) / options.grid;
    const at::Tensor shrink_min = min_val * p, shrink_max = max_val * p;
    auto q = fake_quantize_candidate(observed, search, MinMax{shrink_min, shrink_max});
    LLMC_TRY(q);
    at::Tensor error = at::pow(at::abs(q->to(at::kFloat) - observed_f), options.norm);
    if (importance.defined()) error = error * importance;
    const at::Tensor err = at::sum(error, at::IntArrayRef{0, -1});
    if (keep_improved(err, shrink_min, shrink_max, best_error, best_min, best_max)) {
      no_improve = 0;
    } else if (++no_improve >= options.patience && options.patience > 0) {
      break;
    }
  }
  return MinMax{best_min, best_max};
}

}  // namespace llmc::quant
