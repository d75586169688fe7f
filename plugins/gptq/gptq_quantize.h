// plugins/gptq/gptq_quantize.h - the GPTQ loop of LLM Compressor's quantize_weight (modifiers/gptq,
// digest section 4.4) for one weight: activation ordering, dead columns, dampening, the upper Cholesky
// factor of H^-1 (identity when H is not positive definite), then block by block and column by column:
// fake-quantize the column, spread its error over the columns after it. Quantization itself is a
// callback, so the loop runs the same with the host's quantization services or with a test's.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>

namespace llmc::gptq {

struct GptqOptions {
  std::int64_t block_size = 128;  // columns quantized before their error reaches the columns after them
  double dampening_frac = 0.01;   // added to H's diagonal, as a fraction of the diagonal's mean
};

/// Fake-quantizes `values` (float32 [rows, n], contiguous, weight columns whose original indices are
/// `columns`, int64 [n]) into `out` (float32 [rows, n], contiguous) with the scale and zero point of
/// each column's group, channel, block or tensor.
using ColumnQuantizer =
    std::function<void(const at::Tensor& values, const at::Tensor& columns, const at::Tensor& out)>;

struct GptqResult {
  at::Tensor weight;               // float32 [rows, columns], fake-quantized, in the original column order
  double loss = 0;                 // the reference's loss: sum of ((w - q) / Hinv[i, i])^2 / 2
  bool identity_fallback = false;  // H was not positive definite: rounded without error feedback
};

/// The activation order: columns by descending diag(hessian) (the reference's argsort).
at::Tensor activation_order(const at::Tensor& hessian);

/// Runs GPTQ on `weight` (float32 [rows, columns]) with the normalized Hessian `hessian` (float32
/// [columns, columns]); both are overwritten. `order` (int64 [columns], a permutation) is the order in
/// which columns are quantized, or nullopt for their own. Throws std::invalid_argument for inconsistent
/// shapes or dtypes; exceptions of `quantize` pass through.
GptqResult gptq_quantize(at::Tensor weight, at::Tensor hessian, const std::optional<at::Tensor>& order,
                         const GptqOptions& options, const ColumnQuantizer& quantize);

}  // namespace llmc::gptq
