// core/quant/imatrix.h - imatrix_mse's importance (LLM Compressor's observers/imatrix.py): how strongly each
// input channel of a Linear is driven on the calibration data, and the per-element weights it gives the
// weight's MSE range search.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// The running statistic of a Linear's inputs, as the reference's forward-pre hook keeps it.
struct InputImportance {
  at::Tensor sum;      // float32 [in]: the sum over every token seen of x_j^2; undefined before the first add
  int64_t tokens = 0;  // the tokens summed

  /// Folds in one batch of inputs [..., in]: x.float()^2 summed over every dim but the last.
  Status add(const at::Tensor& input);
};

/// The weights of imatrix_mse's search over `observed` (`weight` [out, in] flattened for calibration with
/// `args`), as _prepare_importance builds them: I = sum / tokens, divided by (mean(I) + float32 tiny),
/// broadcast over the rows and flattened like the weight. The error says why the reference would fall back
/// to uniform weights: no importance (null, or no tokens), non-finite, negative or all-zero importance, a
/// strategy other than channel, group and tensor_group, or a width other than the weight's.
Expected<at::Tensor> importance_weights(const InputImportance* importance, const at::Tensor& weight,
                                        const at::Tensor& observed, const recipe::QuantArgs& args);

}  // namespace llmc::quant
