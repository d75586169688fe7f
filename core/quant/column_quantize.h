// core/quant/column_quantize.h - fake-quantization of some columns of a quantized weight, each with its own
// group's qparams: what GPTQ's column loop does (llmcompressor gptq helpers.column_scale_window, then CT
// fake_quantize with strategy channel on the effective per-element scales).
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// `values` [rows, n] are columns `columns` (int64 [n]) of a weight [rows, in] whose qparams are `qparams`
/// (computed with `args`). Column c uses the scale and zero point of its group (qparams.g_idx[c] when set,
/// else c / group_size), block (row / block_height, c / block_width), channel or tensor; the global scale is
/// divided out first, and the zero point is used only for asymmetric args, as the reference does.
Expected<at::Tensor> fake_quantize_columns(const at::Tensor& values, const at::Tensor& columns, const QParams& qparams,
                                           const recipe::QuantArgs& args);

}  // namespace llmc::quant
