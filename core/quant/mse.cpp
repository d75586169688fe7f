// core/quant/mse.cpp - _grid_search_mse and _calculate_error of LLM Compressor 0.14, op for op.
#include "quant/mse.h"

#include <ATen/ATen.h>

#include "quant/quantize.h"
#include "quant/value_format.h"

namespace llmc::quant {

Expected<MinMax> grid_search_mse(const at::Tensor& observed, const recipe::QuantArgs& args,
                                 const MseOptions& options) {
  recipe::QuantArgs search_args = args;
  if (args.strategy == recipe::Strategy::tensor_group) search_args.scale_dtype.reset();
  recipe::QuantArgs token_args = search_args;  // the candidates' fake quantization broadcasts the qparams
  token_args.strategy = recipe::Strategy::token;

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
    auto candidate = calculate_qparams(MinMax{shrinked_min, shrinked_max}, search_args);
    LLMC_TRY(candidate);
    const QParams broadcast{candidate->scale.unsqueeze(-1), candidate->zero_point->unsqueeze(-1), std::nullopt,
                            std::nullopt};
    auto q = fake_quantize(observed, broadcast, token_args);
    LLMC_TRY(q);
    const at::Tensor err = at::sum(at::pow(at::abs(q->to(observed.scalar_type()) - observed), options.norm), at::IntArrayRef{0, -1});
    const at::Tensor improved = err < best_error;
    if (improved.any().item<bool>()) {
      best_error = at::where(improved, err, best_error);
      best_min = at::where(improved, shrinked_min, best_min);
      best_max = at::where(improved, shrinked_max, best_max);
      no_improve_count = 0;
    } else if (++no_improve_count >= options.patience) {
      break;
    }
  }
  return MinMax{best_min, best_max};
}

}  // namespace llmc::quant
