// core/exec/bfloat16_rounding.h - float32 kernels that round as bfloat16 ops do, so a chain of bfloat16 ops
// on float32 products runs in float32 without the bfloat16 tensors in between (and gives the same bytes).
#pragma once

#include <ATen/core/Tensor.h>

namespace llmc::exec {

/// values (contiguous float32) <- each rounded to the nearest bfloat16 (ties to even) as c10::BFloat16 rounds,
/// kept in float32; NaN stays NaN.
void round_to_bfloat16_(at::Tensor& values);

/// scores [B, H, T, S] (contiguous float32) <- what bfloat16's `scores.to(bf16) * scale + additive` gives, with
/// additive 0 where `allowed` [B or 1, 1, T, S] (bool) and bfloat16's lowest value elsewhere: every op rounded
/// to bfloat16 as ATen's bfloat16 kernels round their float32 result, in one pass.
void scale_and_mask_as_bfloat16_(at::Tensor& scores, const at::Tensor& allowed, double scale);

}  // namespace llmc::exec
