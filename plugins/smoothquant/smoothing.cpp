// plugins/smoothquant/smoothing.cpp
#include "smoothing.h"

#include <vector>

namespace llmc::smoothing {

void ChannelRange::update(const at::Tensor& x) {
  const at::Tensor flat = x.reshape({-1, x.size(-1)});
  const at::Tensor mins = std::get<0>(flat.min(0));
  const at::Tensor maxes = std::get<0>(flat.max(0));
  if (empty()) {
    min_ = mins;
    max_ = maxes;
    return;
  }
  min_ = at::minimum(min_, mins);
  max_ = at::maximum(max_, maxes);
}

at::Tensor ChannelRange::dynamic_range() const { return max_ - min_; }

at::Tensor smoothing_scales(const at::Tensor& range, std::span<const at::Tensor> balance_weights, Algorithm algorithm,
                            double alpha) {
  at::Tensor scales;
  if (algorithm == Algorithm::log_equalization) {
    scales = range / at::log2(2 + range);
  } else {
    std::vector<at::Tensor> column_max;
    for (const at::Tensor& weight : balance_weights) column_max.push_back(std::get<0>(weight.abs().max(0, true)));
    const at::Tensor weight_scales = 2.0 * std::get<0>(at::cat(column_max, 0).max(0));
    scales = at::where(weight_scales > 0.0, range.pow(alpha) / weight_scales.pow(1 - alpha), range);
  }
  // A 1-element float32 tensor, as the reference's torch.Tensor([1e-5]): the maximum is float32.
  return at::maximum(scales, at::full({1}, minimum_scale, at::TensorOptions().dtype(at::kFloat).device(scales.device())));
}

void fold_scales(const at::Tensor& scales, std::span<const at::Tensor> balance_weights, const at::Tensor& smooth_weight,
                 const std::optional<at::Tensor>& smooth_bias) {
  for (const at::Tensor& weight : balance_weights) weight.copy_(weight * scales.view({1, -1}));
  smooth_weight.copy_(smooth_weight.dim() == 1 ? smooth_weight / scales : smooth_weight / scales.view({-1, 1}));
  if (smooth_bias) smooth_bias->copy_(*smooth_bias / scales);
}

}  // namespace llmc::smoothing
