// core/exec/matmul_math.h - the arithmetic of a layer's matrix products when the compute dtype is bfloat16 or
// float16: ATen's kernel for that dtype, as the reference runs it, or the operands widened to float32.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string_view>

namespace llmc::exec {

/// How matrix products of 16-bit floating operands are computed (float32 and float64 ones are unaffected).
/// Both multiply exactly and accumulate in float32; their kernels sum in different orders, so an element of a
/// product can round to the neighbouring 16-bit value (about 1 in 10^4 of a bfloat16 layer's outputs).
enum class MatmulMath {
  dtype,    // ATen's kernel for the dtype: the reference's arithmetic, bit for bit on the same machine
  float32,  // operands widened to float32, the product rounded back to the dtype once: several times faster
            // on CPUs without bfloat16/float16 instructions (measured 290 vs 61 GFLOP/s, AVX-512 without BF16)
};

/// `chosen`, or where none was (`--matmul auto`): float32 for a 16-bit `dtype` on a CPU without instructions
/// for it (AVX512_BF16 or AMX-BF16 for bfloat16, AVX512_FP16 or AMX-FP16 for float16), else dtype. Depends on
/// the CPU only, never on a timing, so the same machine always computes the same bytes.
MatmulMath resolve_matmul_math(std::optional<MatmulMath> chosen, at::ScalarType dtype);

/// Whether products of `dtype` operands are computed wider than `dtype` in `math` (16-bit dtypes in float32).
bool widens(MatmulMath math, at::ScalarType dtype);

/// "dtype" or "float32" (`--matmul`); nullopt for any other name.
std::optional<MatmulMath> parse_matmul_math(std::string_view name);
std::string_view to_string(MatmulMath math);

/// at::linear(x, weight, bias) (bias may be undefined), computed in `math`.
at::Tensor linear_in(MatmulMath math, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
/// at::matmul(a, b), computed in `math`.
at::Tensor matmul_in(MatmulMath math, const at::Tensor& a, const at::Tensor& b);

}  // namespace llmc::exec
