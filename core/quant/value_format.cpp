// core/quant/value_format.cpp - the value format and dtype tables.
#include "quant/value_format.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>

namespace llmc::quant {
namespace {

struct FormatRow {
  recipe::QuantType type;
  int64_t min_bits;  // the row serves num_bits in [min_bits, max_bits]
  int64_t max_bits;
  ValueFormat format;  // int rows: qmin/qmax follow from num_bits
};

// Int storage follows CT's QuantizationArgs.pytorch_dtype(): int8 up to 8 bits, int16 up to 16, else int32.
constexpr std::array<FormatRow, 5> kFormats{{
    {recipe::QuantType::int_, 1, 8, {"int", Rounding::half_to_even, 0, 0, c10::ScalarType::Char, 0}},
    {recipe::QuantType::int_, 9, 16, {"int", Rounding::half_to_even, 0, 0, c10::ScalarType::Short, 0}},
    {recipe::QuantType::int_, 17, 64, {"int", Rounding::half_to_even, 0, 0, c10::ScalarType::Int, 0}},
    {recipe::QuantType::float_, 8, 8,
     {"float8_e4m3fn", Rounding::float8_e4m3, -448.0, 448.0, c10::ScalarType::Float8_e4m3fn, 8}},
    {recipe::QuantType::float_, 4, 4, {"float4_e2m1", Rounding::float4_e2m1, -6.0, 6.0, std::nullopt, 2}},
}};

constexpr std::array<DTypeInfo, 16> kDTypes{{
    {c10::ScalarType::Double, "torch.float64", true, -1.7976931348623157e308, 1.7976931348623157e308,
     2.220446049250313e-16, 2.2250738585072014e-308, 0, 0},
    {c10::ScalarType::Float, "torch.float32", true, -3.4028234663852886e38, 3.4028234663852886e38,
     1.1920928955078125e-07, 1.1754943508222875e-38, 0, 0},
    {c10::ScalarType::Half, "torch.float16", true, -65504.0, 65504.0, 0.0009765625, 6.103515625e-05, 0, 0},
    {c10::ScalarType::BFloat16, "torch.bfloat16", true, -3.3895313892515355e38, 3.3895313892515355e38, 0.0078125,
     1.1754943508222875e-38, 0, 0},
    {c10::ScalarType::Float8_e4m3fn, "torch.float8_e4m3fn", true, -448.0, 448.0, 0.125, 0.015625, 0, 0},
    {c10::ScalarType::Float8_e4m3fnuz, "torch.float8_e4m3fnuz", true, -240.0, 240.0, 0.125, 0.0078125, 0, 0},
    {c10::ScalarType::Float8_e5m2, "torch.float8_e5m2", true, -57344.0, 57344.0, 0.25, 6.103515625e-05, 0, 0},
    {c10::ScalarType::Float8_e5m2fnuz, "torch.float8_e5m2fnuz", true, -57344.0, 57344.0, 0.125,
     3.0517578125e-05, 0, 0},
    {c10::ScalarType::Float8_e8m0fnu, "torch.float8_e8m0fnu", true, 5.877471754111438e-39, 1.7014118346046923e38,
     1.0, 5.877471754111438e-39, 0, 0},
    {c10::ScalarType::Byte, "torch.uint8", false, 0, 0, 0, 0, 0, 255},
    {c10::ScalarType::Char, "torch.int8", false, 0, 0, 0, 0, -128, 127},
    {c10::ScalarType::Short, "torch.int16", false, 0, 0, 0, 0, -32768, 32767},
    {c10::ScalarType::Int, "torch.int32", false, 0, 0, 0, 0, INT32_MIN, INT32_MAX},
    {c10::ScalarType::Long, "torch.int64", false, 0, 0, 0, 0, INT64_MIN, INT64_MAX},
    {c10::ScalarType::UInt16, "torch.uint16", false, 0, 0, 0, 0, 0, 65535},
    {c10::ScalarType::UInt32, "torch.uint32", false, 0, 0, 0, 0, 0, 4294967295LL},
}};

}  // namespace

Expected<ValueFormat> value_format(const recipe::QuantArgs& args) {
  for (const FormatRow& row : kFormats) {
    if (row.type != args.type || args.num_bits < row.min_bits || args.num_bits > row.max_bits) continue;
    ValueFormat format = row.format;
    if (args.type == recipe::QuantType::int_) {
      // CT: 2.0**num_bits / 2 - 1 and its negation minus one, held as float32.
      const double half_range = std::ldexp(1.0, static_cast<int>(args.num_bits)) / 2;
      format.qmin = -half_range;
      format.qmax = half_range - 1;
    }
    return format;
  }
  return Error{fmt::format("no quantized value format for type {} with num_bits {} (int: 1..64, float: 4 or 8)",
                           recipe::to_string(args.type), args.num_bits)};
}

bool is_mx(const recipe::QuantArgs& args) {
  return args.type == recipe::QuantType::float_ && (args.num_bits == 4 || args.num_bits == 8) &&
         args.group_size == 32 && args.scale_dtype == "torch.uint8";
}

const DTypeInfo* dtype_info(std::string_view torch_name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == torch_name) return &info;
  }
  return nullptr;
}

const DTypeInfo* dtype_info(c10::ScalarType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return &info;
  }
  return nullptr;
}

}  // namespace llmc::quant
