// core/format/fp4_packing.h - FP4 E2M1 values as 4-bit codes, two per byte (compressed-tensors'
// pack_fp4_to_uint8 / unpack_fp4_from_uint8; compressed-tensors.md 4.4).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "util/expected.h"

namespace llmc::format {

/// The E2M1 magnitudes, indexed by the low three bits of a code.
inline constexpr float kE2M1Values[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};

/// The code of an E2M1 value: sign bit (from the float's sign bit, so -0.0 gives 0x8, as CT emits for
/// values that round to zero from below) << 3 | the magnitude's index; nullopt off the grid.
std::optional<uint8_t> e2m1_code(float value);
/// The value of a code (0x8 gives -0.0).
float e2m1_value(uint8_t code);

/// Float values on the E2M1 grid (any float dtype), shape [..., n] with n even, to uint8 [..., n/2]: byte j
/// of a row = code(x[2j]) | code(x[2j+1]) << 4. Errors: not a float tensor, odd n, a value off the grid.
Expected<at::Tensor> pack_fp4(const at::Tensor& values);
/// The inverse: uint8 [..., m] to float32 [..., 2m].
Expected<at::Tensor> unpack_fp4(const at::Tensor& packed);

}  // namespace llmc::format
