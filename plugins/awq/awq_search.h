// plugins/awq/awq_search.h - AWQ's scale search (LLM Compressor modifiers/transform/awq/base.py) as plain
// LibTorch functions: the activation and weight statistics, the grid of candidate scales, the search that
// keeps the candidate whose quantized balance layers best reproduce the parent's output, and the fold of the
// chosen scales into the weights. Every op runs in the dtype the reference runs it in, so that results are
// bit-identical to it on the same inputs. The plugin (awq.cpp) feeds these from the host; the unit tests
// from the reference's own run.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace llmc::awq {

// The recipe's duo_scaling: activations only (off), activations and weights (on), or half the grid each.
enum class DuoScaling { off, on, both };

// One grid candidate: s = x_mean^ratio (/ w_mean^(1-ratio) when duo).
struct GridPoint {
  double ratio;
  bool duo;
};

// The reference's grid (_get_grid_search_params): on -> the identity (0, off) then n_grid-1 duo ratios
// k/(n_grid-2); off -> n_grid ratios k/(n_grid-1); both -> for k < n_grid/2 the ratio k/(n_grid/2-1) off
// then on. Throws std::invalid_argument when n_grid is too small for its ratios (3, 2 and 4).
std::vector<GridPoint> grid_points(DuoScaling duo, std::int64_t n_grid);

// How a balance layer's weight is split into quantization groups, which normalize the weight statistic.
struct WeightGroups {
  enum class Kind { tensor, channel, group, block } kind = Kind::channel;
  std::int64_t group_size = 0;  // group (and tensor_group)
  std::int64_t block_rows = 0;  // block
  std::int64_t block_cols = 0;  // block
};

// Running mean of |x| per input channel of the first balance layer: float32 sums of each batch's tokens,
// an int64 token count (the reference's cache_smooth_activations_hook and x_sum / count).
class ActivationMean {
 public:
  // Adds a batch x [tokens, channels] (any float dtype).
  void add(const at::Tensor& x);
  // The number of tokens added so far.
  std::int64_t tokens() const { return tokens_; }
  // sum / count, float32 [channels]. Precondition: tokens() > 0.
  at::Tensor mean() const;

 private:
  at::Tensor sum_;
  std::int64_t tokens_ = 0;
};

// _compute_layer_means: |W| divided by its group's max (+1e-6) in the weight dtype, summed over the rows of
// every balance layer in float64, divided by their total row count: float64 [in_features].
at::Tensor weight_mean(std::span<const at::Tensor> weights, std::span<const WeightGroups> groups);

// The candidate scales of `point`, normalized by sqrt(max * min) with inf and NaN set to 1: float64 for duo
// points (w_mean is float64), float32 otherwise. `w_mean` may be undefined when `point.duo` is false.
at::Tensor candidate_scales(const at::Tensor& x_mean, const at::Tensor& w_mean, GridPoint point);

// What the search needs from its environment.
struct SearchCallbacks {
  // The parent's output on calibration batch `batch` (an index into the reference outputs), run with the
  // balance layers' current weights.
  std::function<at::Tensor(std::size_t batch)> forward_parent;
  // Fake-quantizes balance layer `balance`'s current weight with its scheme and fresh min-max qparams into
  // `out` (the weight's shape and dtype). Siblings sharing a global scale see each other's current weights.
  std::function<void(std::size_t balance, const at::Tensor& out)> fake_quantize_weight;
};

struct SearchResult {
  at::Tensor scales;          // the best candidate's scales, [in_features]
  std::size_t best = 0;       // its index in the grid
  std::vector<double> losses; // one per grid point, in grid order (NaN or inf where outputs were not finite)
};

// The reference's _compute_loss, one batch at a time: the sum of squared differences of each batch pair (summed
// in the outputs' dtype, as mse_loss with reduction "sum"), accumulated in float32, divided by the element
// count in float32.
class OutputLoss {
 public:
  void add(const at::Tensor& reference, const at::Tensor& candidate);
  // The mean over every element added. Precondition: something was added.
  double value() const;

 private:
  at::Tensor sum_;
  at::Tensor elements_;
};

// _compute_best_scale: for each grid point, balance weights <- W*s (all of them before any is quantized, so
// fused siblings see each other's scaled weights), then Q(W*s)/s in the weight dtype, the parent rerun on
// every batch, and the loss (OutputLoss) against `reference` (the parent's outputs before any change). The first
// strictly lowest loss wins. `balance_weights` are writable views of the current weights; they hold their
// original values again on return (also when it throws). Throws std::runtime_error when no loss is finite.
SearchResult search_scales(std::span<const at::Tensor> balance_weights, const at::Tensor& x_mean,
                           const at::Tensor& w_mean, std::span<const GridPoint> grid,
                           std::span<const at::Tensor> reference, const SearchCallbacks& callbacks);

// The fold: balance weights <- W * s per input column; the smooth layer's output divided by s: a norm
// weight [n] /= s, a Linear weight's last len(s) rows /= s, and the matching bias entries /= s. Each
// result is computed in the promoted dtype of the weight and s, then rounded to the weight's dtype.
void fold_scales(const at::Tensor& scales, std::span<const at::Tensor> balance_weights, const at::Tensor& smooth_weight,
                 const std::optional<at::Tensor>& smooth_bias);

}  // namespace llmc::awq
