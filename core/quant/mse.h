// core/quant/mse.h - LLM Compressor's MSE range search (observers/mse_quant.py, its eager path): shrink each
// qparam's observed range step by step and keep the one whose fake-quantization error is smallest.
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// The search's knobs (observer_kwargs), with the defaults of `memoryless_mse` / `mse`.
struct MseOptions {
  double maxshrink = 0.20;  // the search tries int(maxshrink * grid) steps
  double patience = 5;      // stop after this many steps in a row that improve no qparam
  double grid = 100.0;      // step i shrinks the range by the factor 1 - i / grid
  double norm = 2.4;        // error = sum |fake_quantize(x) - x|^norm per qparam
  double expand = 1.0;      // the range is first widened by this factor (>= 1)
};

/// The min/max per qparam minimizing the error, for `observed` flattened as
/// (observations, *qparam_shape, group_elements). For tensor_group args the scale_dtype rounding (and the
/// global scale) is left out of the search, as the reference does. The reference's CUDA path (a Triton
/// kernel with a buffered patience rule) can choose differently; this is the CPU path on every device.
Expected<MinMax> grid_search_mse(const at::Tensor& observed, const recipe::QuantArgs& args,
                                 const MseOptions& options);

}  // namespace llmc::quant
