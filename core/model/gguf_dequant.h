// core/model/gguf_dequant.h - the ggml tensor types: their block layout, and dequantization to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "util/expected.h"

namespace llmc::model {

/// A ggml tensor type, by its number in the GGUF file (ggml.h's enum ggml_type).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
  MXFP4 = 39,
};

/// Dequantizes `n_blocks` consecutive blocks at `blocks` into `n_blocks * block_size` floats at `out`.
using DequantizeBlocks = void (*)(const std::byte* blocks, float* out, uint64_t n_blocks);

/// One type's layout, as ggml's type traits: `block_size` elements take `type_size` bytes.
struct GgmlTypeTraits {
  GgmlType type;
  const char* name;
  uint32_t block_size;
  uint32_t type_size;
  DequantizeBlocks dequantize;  // nullptr where llmc cannot dequantize the type
};

/// The traits of ggml type number `type`; nullptr when the number is no ggml type llmc knows.
const GgmlTypeTraits* ggml_type_traits(uint32_t type);

/// "Q4_K", or "type 42" for an unknown number.
std::string ggml_type_name(GgmlType type);

/// Dequantizes `data`, `numel` elements of `type` (numel a multiple of the block size, data exactly their
/// bytes), into `out` (numel floats), bit-exactly as the gguf Python package. Errors name the type for the
/// types llmc cannot dequantize ("unsupported ggml type IQ2_XS") and report size mismatches.
Status dequantize(GgmlType type, std::span<const std::byte> data, std::span<float> out);

}  // namespace llmc::model
