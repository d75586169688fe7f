// core/quant/imatrix.cpp - IMatrixMSEObserver's hook and _prepare_importance (llmcompressor 0.14), op for op.
#include "quant/imatrix.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>
#include <numeric>
#include <vector>

#include "quant/observer.h"

namespace llmc::quant {

Status InputImportance::add(const at::Tensor& input) {
  if (input.dim() < 2)
    return Error{fmt::format("imatrix_mse: inputs are [..., tokens, channels], got {}-D", input.dim())};
  if (sum.defined() && input.size(-1) != sum.size(0))
    return Error{fmt::format("imatrix_mse: an input of {} channels after inputs of {}", input.size(-1), sum.size(0))};
  const at::Tensor x = input.to(at::kFloat);
  std::vector<int64_t> token_dims(static_cast<size_t>(x.dim() - 1));
  std::iota(token_dims.begin(), token_dims.end(), 0);
  if (!sum.defined()) sum = at::zeros({x.size(-1)}, x.options());
  sum.add_(at::sum(at::pow(x, 2), token_dims));
  int64_t batch_tokens = 1;
  for (int64_t dim : token_dims) batch_tokens *= x.size(dim);
  tokens += batch_tokens;
  return Status::ok();
}

Expected<at::Tensor> importance_weights(const InputImportance* importance, const at::Tensor& weight,
                                        const at::Tensor& observed, const recipe::QuantArgs& args) {
  const recipe::Strategy strategy = *args.strategy;
  if (strategy == recipe::Strategy::tensor) return Error{"the tensor strategy is not supported"};
  if (importance == nullptr || !importance->sum.defined() || importance->tokens == 0)
    return Error{"no importance data available (no calibration inputs reached the module)"};
  const at::Tensor count = at::scalar_tensor(importance->tokens, at::kLong).to(importance->sum.device()).to(at::kFloat);
  const at::Tensor imp = importance->sum / count;
  if (!at::isfinite(imp).all().item<bool>()) return Error{"the importance contains non-finite values"};
  if ((imp < 0).any().item<bool>()) return Error{"the importance contains negative values"};
  if ((imp == 0).all().item<bool>()) return Error{"the importance is all zeros"};
  int64_t expected = 0;
  if (strategy == recipe::Strategy::channel) {
    expected = observed.size(-1);
  } else if (strategy == recipe::Strategy::group || strategy == recipe::Strategy::tensor_group) {
    expected = observed.size(2) * observed.size(3);
  } else {
    return Error{fmt::format("the {} strategy is not supported", recipe::to_string(strategy))};
  }
  if (weight.dim() != 2) return Error{fmt::format("a {}-D weight is not supported (a Linear's is 2-D)", weight.dim())};
  if (imp.numel() != expected) return Error{fmt::format("size mismatch: expected {}, got {}", expected, imp.numel())};
  const at::Tensor moved = imp.to(observed.device(), at::kFloat);
  const at::Tensor normalized = moved / (moved.mean() + std::numeric_limits<float>::min());
  return flatten_for_calibration(normalized.unsqueeze(0).expand({weight.size(0), -1}), args, ObservedTensor::weight);
}

}  // namespace llmc::quant
