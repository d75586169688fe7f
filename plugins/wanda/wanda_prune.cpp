// plugins/wanda/wanda_prune.cpp
#include "wanda_prune.h"

#include <tuple>

namespace llmc::wanda {

using at::indexing::Slice;

void accumulate_row_scalars(RowScalars& scalars, const at::Tensor& input, std::int64_t sequences) {
  // The same ATen calls in the same order as the reference, so the sums round alike.
  at::Tensor x = input.reshape({-1, input.size(-1)}).t();
  scalars.values.mul_(static_cast<double>(scalars.samples) / static_cast<double>(scalars.samples + sequences));
  scalars.samples += sequences;
  x = x.to(at::kFloat);
  scalars.values.add_(at::linalg_vector_norm(x, 2, at::IntArrayRef{1}).pow(2).div(scalars.samples));
}

at::Tensor prune_weight(const at::Tensor& weight, const at::Tensor& row_scalars, double sparsity, MaskStructure mask) {
  at::Tensor W = weight.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  const at::Tensor metric = W.abs().mul(at::sqrt(row_scalars.reshape({1, -1})));
  at::Tensor pruned = at::zeros_like(metric).eq(1);
  const std::int64_t columns = metric.size(1);
  if (!mask.unstructured()) {
    for (std::int64_t column = 0; column < columns; column += mask.group) {
      const at::Tensor group = metric.index({Slice(), Slice(column, column + mask.group)});
      const at::Tensor smallest = std::get<1>(at::topk(group, mask.prune, /*dim=*/1, /*largest=*/false));
      pruned.scatter_(1, smallest.add(column), true);
    }
  } else {
    const auto count = static_cast<std::int64_t>(static_cast<double>(columns) * sparsity);
    const at::Tensor order = std::get<1>(at::sort(metric, /*stable=*/true, /*dim=*/-1, /*descending=*/false));
    pruned.scatter_(1, order.index({Slice(), Slice(0, count)}), true);
  }
  W.index_put_({pruned}, 0.0);
  return W;
}

}  // namespace llmc::wanda
