// core/quant/value_format.h - the value formats quantization maps onto, as one table (ggml's type traits):
// integers of N bits, float8 E4M3 and float4 E2M1; and the torch dtypes that scales and zero points take.
#pragma once

#include <c10/core/ScalarType.h>

#include <optional>
#include <string_view>

#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::quant {

/// How a scaled, clamped value becomes a representable one.
enum class Rounding {
  half_to_even,  // int: torch.round
  float8_e4m3,   // a cast to float8_e4m3fn (round to nearest even)
  float4_e2m1,   // CT's cast_to_fp4: nearest of {0, .5, 1, 1.5, 2, 3, 4, 6}, ties as its thresholds say
};

struct ValueFormat {
  std::string_view name;  // "int", "float8_e4m3fn", "float4_e2m1"
  Rounding rounding;
  double qmin;  // CT calculate_range; int: -2^(b-1)
  double qmax;  // int: 2^(b-1) - 1
  /// The dtype quantize() returns (what CT's compressors pass to quantize before packing); nullopt: the
  /// input's float dtype (FP4: values on the E2M1 grid, packed to nibbles by the format writer).
  std::optional<c10::ScalarType> storage_dtype;
  /// CT's _MX_ELEM_OFFSET, floor(log2(qmax)): MX scales map a group's max into the range (float only).
  int mx_exponent_offset;
};

/// The format of args' values: type int with num_bits 1..64, or float with num_bits 4 or 8.
Expected<ValueFormat> value_format(const recipe::QuantArgs& args);

/// CT's should_generate_mx_scales: float 4 or 8 bits, group_size 32 and scale_dtype uint8 make the scale a
/// power of two chosen from the exponent (E8M0).
bool is_mx(const recipe::QuantArgs& args);

/// torch.finfo / torch.iinfo of a dtype that can hold a scale or zero point.
struct DTypeInfo {
  c10::ScalarType dtype;
  std::string_view name;  // "torch.float8_e4m3fn", as CT writes dtypes
  bool is_float;
  double min;         // float: finfo.min
  double max;         // float: finfo.max
  double eps;         // float: finfo.eps
  double tiny;        // float: finfo.tiny (smallest normal)
  int64_t int_min;    // integer: iinfo.min
  int64_t int_max;    // integer: iinfo.max
};

/// The dtype of a "torch.<name>" string (canonical, as QuantArgs keeps scale_dtype and zp_dtype); nullptr
/// for names that cannot hold a scale or zero point here (bool, packed and 64-bit unsigned types).
const DTypeInfo* dtype_info(std::string_view torch_name);
const DTypeInfo* dtype_info(c10::ScalarType dtype);

}  // namespace llmc::quant
