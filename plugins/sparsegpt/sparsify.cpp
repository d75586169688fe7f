// plugins/sparsegpt/sparsify.cpp
#include "sparsify.h"

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace llmc::sparsegpt {

using at::indexing::Slice;

void accumulate_hessian(Hessian& hessian, const at::Tensor& input, std::int64_t sequences) {
  // The same ATen calls in the same order as the reference, so the sums round alike.
  at::Tensor x = input.reshape({-1, input.size(-1)}).t();
  hessian.matrix.mul_(static_cast<double>(hessian.samples) / static_cast<double>(hessian.samples + sequences));
  hessian.samples += sequences;
  x = x.to(at::kFloat);
  x = x.mul(std::sqrt(2.0 / static_cast<double>(hessian.samples)));
  hessian.matrix.add_(x.matmul(x.t()));
}

InverseHessian invert_hessian(at::Tensor hessian, double dampening_frac) {
  const std::int64_t columns = hessian.size(0);
  at::Tensor dead = at::diag(hessian).eq(0);
  hessian.index_put_({dead, dead}, 1);
  const at::Tensor damp = at::mean(at::diag(hessian)).mul(dampening_frac);
  hessian.diagonal().add_(damp);
  auto [lower, info] = at::linalg_cholesky_ex(hessian);
  if (info.item<std::int32_t>() == 0) {
    auto [upper, upper_info] = at::linalg_cholesky_ex(at::cholesky_inverse(lower), /*upper=*/true);
    if (upper_info.item<std::int32_t>() == 0) return {upper, dead, true};
  }
  return {at::eye(columns, hessian.options()), dead, false};
}

namespace {

// w^2 / d^2 over columns of a block (d: those columns' Hinv diagonal), the pruning metric.
at::Tensor saliency(const at::Tensor& w, const at::Tensor& diagonal) {
  return w.pow(2).div(diagonal.reshape({1, -1}).pow(2));
}

// The block's unstructured mask: entries at or below the value at sorted index int(numel * sparsity).
// With `preserved` (the block's existing zeros), kept unless the target asks for more zeros; then
// the preserved entries count as zero saliency.
at::Tensor unstructured_mask(const at::Tensor& w, const at::Tensor& diagonal, double sparsity,
                             const std::optional<at::Tensor>& preserved) {
  const auto rank = static_cast<std::int64_t>(static_cast<double>(w.numel()) * sparsity);
  at::Tensor metric;
  if (preserved) {
    if (rank <= preserved->sum().item<std::int64_t>()) return *preserved;
    metric = at::bitwise_not(*preserved).mul(w.pow(2)).div(diagonal.reshape({1, -1}).pow(2));
  } else {
    metric = saliency(w, diagonal);
  }
  // The value at sorted index `rank`, as the reference's torch.sort(...)[rank], by selection (NaN is
  // the largest in both).
  const at::Tensor threshold = std::get<0>(at::kthvalue(metric.flatten(), rank + 1));
  return metric.le(threshold);
}

}  // namespace

Sparsified sparsify_weight(const at::Tensor& weight, const InverseHessian& inverse, const SparsifyOptions& options) {
  at::Tensor W = weight.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  const std::int64_t rows = W.size(0);
  const std::int64_t columns = W.size(1);
  const at::Tensor& Hinv = inverse.upper;
  const MaskStructure& nm = options.mask;
  W.index_put_({Slice(), inverse.dead}, 0);

  std::optional<at::Tensor> mask;  // the weight's zeros, kept pruned (preserve_sparsity_mask)
  if (options.preserve_sparsity_mask) {
    mask = W.eq(0);
    const at::Tensor current = mask->sum().div(W.numel());
    if (current.gt(options.sparsity).item<bool>()) {
      throw std::invalid_argument("the weight is already " + std::to_string(current.item<double>()) +
                                  " sparse, more than the target sparsity " + std::to_string(options.sparsity) +
                                  "; set preserve_sparsity_mask = false");
    }
  }

  at::Tensor losses = at::zeros({rows}, W.options());
  for (std::int64_t i1 = 0; i1 < columns; i1 += options.block_size) {
    const std::int64_t i2 = std::min(i1 + options.block_size, columns);
    const std::int64_t count = i2 - i1;
    at::Tensor W1 = W.index({Slice(), Slice(i1, i2)}).clone();
    at::Tensor Q1 = at::zeros_like(W1);
    at::Tensor Err1 = at::zeros_like(W1);
    at::Tensor Losses1 = at::zeros_like(W1);
    const at::Tensor Hinv1 = Hinv.index({Slice(i1, i2), Slice(i1, i2)});
    const at::Tensor diagonal = at::diag(Hinv1);

    std::optional<at::Tensor> block_mask;
    if (mask) block_mask = mask->index({Slice(), Slice(i1, i2)});  // a view: N:M marks land in `mask`
    at::Tensor mask1;
    if (nm.unstructured()) {
      mask1 = unstructured_mask(W1, diagonal, options.sparsity, block_mask);
    } else {
      mask1 = block_mask ? *block_mask : at::zeros_like(W1).eq(1);
    }

    for (std::int64_t i = 0; i < count; ++i) {
      const at::Tensor w = W1.select(1, i);
      const at::Tensor d = Hinv1.index({i, i});
      if (!nm.unstructured() && i % nm.group == 0) {
        const Slice group(i, i + nm.group);
        at::Tensor metric = saliency(W1.index({Slice(), group}), diagonal.index({group}));
        if (block_mask) metric = metric.mul(at::bitwise_not(block_mask->index({Slice(), group})));
        const at::Tensor smallest = std::get<1>(at::topk(metric, nm.prune, /*dim=*/1, /*largest=*/false));
        mask1.scatter_(1, smallest.add(i), true);
      }
      at::Tensor q = w.clone();
      q.index_put_({mask1.select(1, i)}, 0);
      Q1.select(1, i).copy_(q);
      const at::Tensor difference = w.sub(q);
      Losses1.select(1, i).copy_(difference.pow(2).div(d.pow(2)));
      const at::Tensor err1 = difference.div(d);
      W1.index({Slice(), Slice(i, at::indexing::None)})
          .sub_(err1.unsqueeze(1).matmul(Hinv1.index({i, Slice(i, at::indexing::None)}).unsqueeze(0)));
      Err1.select(1, i).copy_(err1);
    }

    W.index({Slice(), Slice(i1, i2)}).copy_(Q1);
    losses.add_(Losses1.sum(1).div(2));
    at::Tensor feedback = Err1.matmul(Hinv.index({Slice(i1, i2), Slice(i2, at::indexing::None)}));
    at::Tensor rest = W.index({Slice(), Slice(i2, at::indexing::None)});
    if (mask) feedback = at::bitwise_not(mask->index({Slice(), Slice(i2, at::indexing::None)})).mul(feedback);
    rest.sub_(feedback);
  }
  return {W, losses.sum().item<double>()};
}

}  // namespace llmc::sparsegpt
