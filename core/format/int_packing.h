// core/format/int_packing.h - compressed-tensors' dense cross-word packing of 1..8-bit ints into int32
// (CT >= 0.17 pack_to_int32 / unpack_from_int32; compressed-tensors.md 4.3).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <span>

#include "util/expected.h"

namespace llmc::format {

/// The dim of each 2-D slice the values are packed along: `columns` for weights, `rows` for the zero points
/// of asymmetric group/channel weights.
enum class PackDim { rows, columns };

/// int32 words holding `count` values of `num_bits` bits: ceil(count * num_bits / 32).
int64_t packed_words(int64_t count, int num_bits);

/// One row: value k, offset by 2^(num_bits-1) into [0, 2^num_bits), goes to bit k*num_bits of a
/// little-endian bit stream, split across words where it crosses one; unused tail bits are 0. `out` has
/// packed_words(values.size()) words. Returns the index of the first value out of the signed range, or -1.
int64_t pack_row(std::span<const int8_t> values, int num_bits, std::span<int32_t> out);
/// The inverse of pack_row: `out.size()` values from `words`.
void unpack_row(std::span<const int32_t> words, int num_bits, std::span<int8_t> out);

/// int8 values, 2-D [rows, cols] or 3-D [E, rows, cols] (each slice packed on its own), to int32:
/// [rows, packed_words(cols)] along columns, [packed_words(rows), cols] along rows. Errors: not int8,
/// another rank, num_bits outside 1..8, a value outside [-2^(num_bits-1), 2^(num_bits-1)).
Expected<at::Tensor> pack_int32(const at::Tensor& values, int num_bits, PackDim dim = PackDim::columns);
/// The inverse: int8 values of `shape` (the unpacked shape, 2-D or 3-D) from packed int32 words.
Expected<at::Tensor> unpack_int32(const at::Tensor& packed, int num_bits, std::span<const int64_t> shape,
                                  PackDim dim = PackDim::columns);

}  // namespace llmc::format
