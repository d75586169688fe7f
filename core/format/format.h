// core/format/format.h - the compressed-tensors checkpoint formats as a table (ggml's type traits): how
// each lays out a quantized module's weight and scale on disk (compressed-tensors.md section 4).
#pragma once

#include <span>
#include <string_view>

#include "util/expected.h"

namespace llmc::format {

enum class Format { naive_quantized, int_quantized, float_quantized, pack_quantized, nvfp4_pack_quantized,
                    mxfp4_pack_quantized, mxfp8_quantized };

/// How the quantized weight values are stored.
enum class WeightLayout {
  unpacked,    // `weight`: int8/int16/int32 for int, float8_e4m3fn for fp8
  int32_dense, // `weight_packed` int32 (1..8-bit ints, dense cross-word) + `weight_shape` int64
  fp4_nibbles, // `weight_packed` uint8, two E2M1 codes per byte, the even element in the low nibble
};

/// How `weight_scale` is stored.
enum class ScaleStorage {
  weight_dtype, // the original weight's dtype (float16 when that is not a float type)
  float8,       // scale_dtype, float8_e4m3fn by default (NVFP4)
  e8m0,         // uint8 biased power-of-two exponents (MX)
};

struct FormatTraits {
  Format format;
  std::string_view name;  // as config.json writes it
  WeightLayout layout;
  ScaleStorage scale;
};

const FormatTraits& traits(Format format);
std::string_view to_string(Format format);
std::span<const FormatTraits> all_formats();

/// The format named `name`; "dense" and "mixed-precision" are errors (neither is a layout of quantized
/// tensors), as is any unknown name (the message lists the known ones).
Expected<Format> parse_format(std::string_view name);

}  // namespace llmc::format
