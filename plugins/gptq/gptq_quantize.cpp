// plugins/gptq/gptq_quantize.cpp - the reference's quantize_weight and factorize_hessian for a batch of
// one module, with the same torch ops in the same order and layouts wherever a sum is formed (mean of
// the diagonal, Cholesky factorizations, the block's error propagation), so that the results match bit
// for bit. The column loop is hand-written: each update w_j -= e * h_ij is a rounded product, then a
// rounded difference, as the reference's two tensor ops (this file is built with -ffp-contract=off).
#include "gptq_quantize.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace llmc::gptq {
namespace {

void check_inputs(const at::Tensor& weight, const at::Tensor& hessian, const std::optional<at::Tensor>& order,
                  const GptqOptions& options) {
  if (weight.dim() != 2 || weight.scalar_type() != at::kFloat) {
    throw std::invalid_argument("gptq: the weight must be float32 [rows, columns], got " +
                                std::string(c10::toString(weight.scalar_type())) + " " + c10::str(weight.sizes()));
  }
  const std::int64_t columns = weight.size(1);
  if (hessian.dim() != 2 || hessian.size(0) != columns || hessian.size(1) != columns ||
      hessian.scalar_type() != at::kFloat) {
    throw std::invalid_argument("gptq: the Hessian must be float32 [" + std::to_string(columns) + ", " +
                                std::to_string(columns) + "], got " + c10::str(hessian.sizes()));
  }
  if (order && (order->dim() != 1 || order->size(0) != columns || order->scalar_type() != at::kLong)) {
    throw std::invalid_argument("gptq: the column order must be int64 [" + std::to_string(columns) + "]");
  }
  if (options.block_size <= 0) throw std::invalid_argument("gptq: block_size must be positive");
}

// factorize_hessian, in place as the reference (same out= calls, so the same memory and the same results):
// dead columns (zero diagonal) get H[i, i] = 1 and a zero weight column; the diagonal gets dampening_frac *
// mean(diag(H)); then `hessian` becomes the upper Cholesky factor of H^-1. False when H is not positive
// definite (`hessian` is then garbage).
bool factor_inverse_hessian(at::Tensor& hessian, at::Tensor& weight, double dampening_frac) {
  at::Tensor diagonal = hessian.diagonal();
  const at::Tensor dead = diagonal.eq(0);
  diagonal.masked_fill_(dead, 1.0);
  weight.masked_fill_(dead.unsqueeze(0), 0.0);
  const at::Tensor damp = at::diag(hessian).mean() * dampening_frac;
  diagonal.add_(damp);
  at::Tensor info = at::empty({}, hessian.options().dtype(at::kInt));
  at::linalg_cholesky_ex_out(hessian, info, hessian);
  if (info.item<int>() != 0) return false;
  at::cholesky_inverse_out(hessian, hessian);
  at::linalg_cholesky_ex_out(hessian, info, hessian, /*upper=*/true);  // the reference raises here; we fall back
  return info.item<int>() == 0;
}

// The columns [first, first + count) of `weight` (the reference's W1), quantized in order with error
// feedback inside the block. `work` holds the block transposed (a column per row, so every column the
// quantizer sees is contiguous); `quantized` and `errors` receive Q1 and Err1, transposed alike.
void quantize_block(const at::Tensor& work, const at::Tensor& quantized, const at::Tensor& errors,
                    const at::Tensor& inverse_factor, const std::int64_t* column_index, std::int64_t first,
                    const ColumnQuantizer& quantize) {
  const std::int64_t count = work.size(0), rows = work.size(1);
  const auto hinv = inverse_factor.accessor<float, 2>();
  float* const w_base = work.data_ptr<float>();
  const float* const q_base = quantized.const_data_ptr<float>();
  float* const e_base = errors.data_ptr<float>();
  at::Tensor column = at::empty({1}, at::kLong);
  std::int64_t* const column_value = column.data_ptr<std::int64_t>();
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(rows, 1));
  for (std::int64_t i = 0; i < count; ++i) {
    *column_value = column_index[first + i];
    quantize(work[i].unsqueeze(1), column, quantized[i].unsqueeze(1));
    const float* const w = w_base + i * rows;
    const float* const q = q_base + i * rows;
    float* const e = e_base + i * rows;
    const float d = hinv[first + i][first + i];
    for (std::int64_t r = 0; r < rows; ++r) e[r] = (w[r] - q[r]) / d;
    // W1[:, j] -= err * Hinv1[i, j] for the block's later columns (column i itself is done).
    at::parallel_for(i + 1, count, grain, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t j = begin; j < end; ++j) {
        const float h = hinv[first + i][first + j];
        float* const target = w_base + j * rows;
        for (std::int64_t r = 0; r < rows; ++r) {
          const float update = e[r] * h;
          target[r] -= update;
        }
      }
    });
  }
}

}  // namespace

at::Tensor activation_order(const at::Tensor& hessian) {
  return at::argsort(hessian.diagonal(), /*dim=*/-1, /*descending=*/true);
}

GptqResult gptq_quantize(at::Tensor weight, at::Tensor hessian, const std::optional<at::Tensor>& order,
                         const GptqOptions& options, const ColumnQuantizer& quantize) {
  check_inputs(weight, hessian, order, options);
  const std::int64_t rows = weight.size(0), columns = weight.size(1);
  at::Tensor W = order ? weight.index_select(1, *order) : weight.contiguous();
  at::Tensor Hinv = order ? hessian.index_select(0, *order).index_select(1, *order) : hessian.contiguous();
  weight.reset();  // the permuted copies (or the same tensors) are all that is used from here on
  hessian.reset();
  const at::Tensor column_index = order ? order->contiguous() : at::arange(columns, at::kLong);

  GptqResult result;
  result.identity_fallback = !factor_inverse_hessian(Hinv, W, options.dampening_frac);
  if (result.identity_fallback) Hinv = at::eye(columns, W.options());

  at::Tensor losses = at::zeros({rows}, W.options());
  for (std::int64_t i1 = 0; i1 < columns; i1 += options.block_size) {
    const std::int64_t i2 = std::min(i1 + options.block_size, columns);
    const at::Tensor work = W.slice(1, i1, i2).t().contiguous();
    const at::Tensor quantized = at::empty_like(work), errors = at::empty_like(work);
    quantize_block(work, quantized, errors, Hinv, column_index.const_data_ptr<std::int64_t>(), i1, quantize);
    W.slice(1, i1, i2).copy_(quantized.t());
    const at::Tensor block_errors = errors.t().contiguous();  // [rows, block]: the reference's Err1
    losses += block_errors.square().sum(1) / 2;
    if (i2 < columns) {
      // bmm on a batch of one with the reference's layouts: the same sums in the same order.
      const at::Tensor hinv_rest = Hinv.unsqueeze(0).slice(1, i1, i2).slice(2, i2);
      W.slice(1, i2).sub_(at::bmm(block_errors.unsqueeze(0), hinv_rest).squeeze(0));
    }
  }
  result.weight = order ? W.index_select(1, at::argsort(*order)) : W;
  result.loss = losses.sum().item<double>();
  return result;
}

}  // namespace llmc::gptq
