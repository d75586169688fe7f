// core/tensor/convert.h - copies a tensor into another of the same shape, converting the element type
// exactly as torch's `dst.copy_(src)` does (see tensor/element_cast.h for the rules).
#pragma once

#include "llmc/plugin.h"
#include "util/expected.h"

namespace llmc {

/// Element types: bool, uint8, int8/16/32/64, float16, bfloat16, float32, float64, float8_e4m3fn.
/// Both views honour strides (in elements; NULL = compact) and byte_offset; data must be aligned to
/// the element size. Both on the CPU (or pinned/managed host memory), or both on one CUDA device
/// (synchronous there). Fails with a message, never crashes, on a shape mismatch, an unsupported dtype
/// or device pair, or a NULL data pointer of a non-empty tensor. Overlapping src and dst are undefined.
Status copy_convert(const llmc_dl_tensor& src, const llmc_dl_tensor& dst);

}  // namespace llmc
