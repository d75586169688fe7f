// plugins/awq/awq_search.cpp
#include "awq_search.h"

#include <limits>
#include <stdexcept>

namespace llmc::awq {

std::vector<GridPoint> grid_points(DuoScaling duo, std::int64_t n_grid) {
  std::vector<GridPoint> grid;
  switch (duo) {
    case DuoScaling::on:
      if (n_grid < 3) throw std::invalid_argument("n_grid must be at least 3 with duo_scaling \"true\"");
      grid.push_back({0.0, false});  // the identity, so that scaling never does worse than none
      for (std::int64_t k = 0; k < n_grid - 1; ++k)
        grid.push_back({static_cast<double>(k) / static_cast<double>(n_grid - 2), true});
      break;
    case DuoScaling::off:
      if (n_grid < 2) throw std::invalid_argument("n_grid must be at least 2 with duo_scaling \"false\"");
      for (std::int64_t k = 0; k < n_grid; ++k)
        grid.push_back({static_cast<double>(k) / static_cast<double>(n_grid - 1), false});
      break;
    case DuoScaling::both: {
      const std::int64_t half = n_grid / 2;
      if (half < 2) throw std::invalid_argument("n_grid must be at least 4 with duo_scaling \"both\"");
      for (std::int64_t k = 0; k < half; ++k) {
        const double ratio = static_cast<double>(k) / static_cast<double>(half - 1);
        grid.push_back({ratio, false});
        grid.push_back({ratio, true});
      }
      break;
    }
  }
  return grid;
}

void ActivationMean::add(const at::Tensor& x) {
  const at::Tensor batch_sum = x.abs().to(at::kFloat).sum(0);
  sum_ = sum_.defined() ? sum_.add_(batch_sum) : batch_sum;
  tokens_ += x.size(0);
}

at::Tensor ActivationMean::mean() const {
  // A 0-dim int64 divisor, as the reference's count tensor: the quotient stays float32.
  return sum_ / at::scalar_tensor(tokens_, at::TensorOptions().dtype(at::kLong).device(sum_.device()));
}

at::Tensor weight_mean(std::span<const at::Tensor> weights, std::span<const WeightGroups> groups) {
  at::Tensor total;
  std::int64_t rows = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    at::Tensor weight = weights[i].clone();
    const auto shape = weight.sizes().vec();
    const WeightGroups& g = groups[i];
    std::int64_t chunk = 0;
    std::vector<std::int64_t> blocked_shape;
    switch (g.kind) {
      case WeightGroups::Kind::tensor: chunk = weight.numel(); break;
      case WeightGroups::Kind::channel: chunk = weight.size(1); break;
      case WeightGroups::Kind::group: chunk = g.group_size; break;
      case WeightGroups::Kind::block:
        // (rows, cols) -> (row blocks, col blocks, block rows, block cols)
        weight = weight.unflatten(0, {-1, g.block_rows}).unflatten(-1, {-1, g.block_cols}).transpose(1, 2);
        blocked_shape = weight.sizes().vec();
        chunk = g.block_rows * g.block_cols;
        break;
    }
    weight = weight.reshape({-1, chunk});
    weight.abs_();
    weight.div_(weight.amax(1, true) + 1e-6);
    if (g.kind == WeightGroups::Kind::block) weight = weight.view(blocked_shape).transpose(1, 2);
    weight = weight.reshape(shape);
    rows += weight.size(0);
    const at::Tensor column_sum = weight.sum(0, false, at::kDouble);
    total = total.defined() ? total.add_(column_sum) : column_sum;
  }
  return total / rows;
}

at::Tensor candidate_scales(const at::Tensor& x_mean, const at::Tensor& w_mean, GridPoint point) {
  at::Tensor scales = point.duo ? (x_mean.pow(point.ratio) / (w_mean.pow(1 - point.ratio) + 1e-4)).clamp_min(1e-4)
                                : x_mean.pow(point.ratio).clamp_min(1e-4).view(-1);
  scales = scales / (scales.max() * scales.min()).sqrt();
  scales.masked_fill_(scales.isinf(), 1);
  scales.masked_fill_(scales.isnan(), 1);
  return scales;
}

void OutputLoss::add(const at::Tensor& reference, const at::Tensor& candidate) {
  if (!sum_.defined()) {
    sum_ = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(reference.device()));
    elements_ = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(reference.device()));
  }
  sum_.add_(at::mse_loss(reference, candidate.to(reference.device()), at::Reduction::Sum));
  elements_.add_(reference.numel());
}

double OutputLoss::value() const { return (sum_ / elements_).item<double>(); }

namespace {

// Balance weights <- Q(W*s)/s for one candidate.
void apply_candidate(std::span<const at::Tensor> weights, std::span<const at::Tensor> originals,
                     const at::Tensor& scales, const SearchCallbacks& callbacks) {
  const at::Tensor row = scales.view({1, -1});
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i].copy_(originals[i] * row);
  std::vector<at::Tensor> quantized;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    quantized.push_back(at::empty_like(weights[i]));
    callbacks.fake_quantize_weight(i, quantized.back());
  }
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i].copy_(quantized[i] / row);
}

}  // namespace

SearchResult search_scales(std::span<const at::Tensor> balance_weights, const at::Tensor& x_mean,
                           const at::Tensor& w_mean, std::span<const GridPoint> grid,
                           std::span<const at::Tensor> reference, const SearchCallbacks& callbacks) {
  std::vector<at::Tensor> originals;
  for (const at::Tensor& weight : balance_weights) originals.push_back(weight.clone());
  auto restore = [&] {
    for (std::size_t i = 0; i < balance_weights.size(); ++i) balance_weights[i].copy_(originals[i]);
  };
  SearchResult result;
  double best_loss = std::numeric_limits<double>::infinity();
  bool found = false;
  try {
    for (std::size_t g = 0; g < grid.size(); ++g) {
      at::Tensor scales = candidate_scales(x_mean, w_mean, grid[g]);
      apply_candidate(balance_weights, originals, scales, callbacks);
      OutputLoss output_loss;  // batch by batch: no candidate output outlives its comparison
      for (std::size_t b = 0; b < reference.size(); ++b) output_loss.add(reference[b], callbacks.forward_parent(b));
      const double loss = output_loss.value();
      result.losses.push_back(loss);
      if (loss < best_loss) {  // a NaN never compares lower: skipped, as in the reference
        best_loss = loss;
        result.best = g;
        result.scales = scales;
        found = true;
      }
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  if (!found)
    throw std::runtime_error("no candidate of the grid gave a finite loss (NaN or inf in the parent's outputs)");
  return result;
}

void fold_scales(const at::Tensor& scales, std::span<const at::Tensor> balance_weights, const at::Tensor& smooth_weight,
                 const std::optional<at::Tensor>& smooth_bias) {
  for (const at::Tensor& weight : balance_weights) weight.copy_(weight * scales.to(weight.device()).view({1, -1}));
  const at::Tensor s = scales.to(smooth_weight.device());
  const std::int64_t n = s.size(0);
  if (smooth_weight.dim() == 1) {
    smooth_weight.div_(s);
  } else {
    // A Linear wider than the balance input (fused qkv before o_proj): its last len(s) outputs feed it.
    smooth_weight.narrow(0, smooth_weight.size(0) - n, n).div_(s.view({-1, 1}));
  }
  if (smooth_bias) smooth_bias->narrow(0, smooth_bias->size(0) - n, n).div_(s);
}

}  // namespace llmc::awq
