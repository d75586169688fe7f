// core/quant/mse.h - LLM Compressor's MSE range searches (observers/mse_quant.py, its eager path, and
// observers/imatrix.py): shrink each qparam's observed range step by step and keep the one whose
// fake-quantization error is smallest.
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// The search's knobs (observer_kwargs), with the defaults of `memoryless_mse` / `mse` (the observer table
/// holds the other observers' defaults).
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

/// imatrix_mse's search (imatrix.py _grid_search): like grid_search_mse, but over the steps
/// i = 0 .. max(1, int(maxshrink * grid)) inclusive, with the error sum(importance * |x' - x|^norm) in
/// float32, and patience 0 meaning no early stop. `importance` is shaped like `observed` (float32); an
/// undefined one weighs every element 1, the reference's uniform fallback.
Expected<MinMax> grid_search_imatrix(const at::Tensor& observed, const recipe::QuantArgs& args,
                                     const MseOptions& options, const at::Tensor& importance);

}  // namespace llmc::quant
