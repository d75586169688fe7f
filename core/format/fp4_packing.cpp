// core/format/fp4_packing.cpp - E2M1 codes and their nibble packing.
#include "format/fp4_packing.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace llmc::format {

std::optional<uint8_t> e2m1_code(float value) {
  const float magnitude = std::fabs(value);
  for (uint8_t index = 0; index < 8; ++index) {
    if (kE2M1Values[index] == magnitude) return static_cast<uint8_t>((std::signbit(value) ? 0x8 : 0) | index);
  }
  return std::nullopt;
}

float e2m1_value(uint8_t code) {
  const float magnitude = kE2M1Values[code & 0x7];
  return (code & 0x8) ? -magnitude : magnitude;
}

Expected<at::Tensor> pack_fp4(const at::Tensor& values) {
  if (!at::isFloatingType(values.scalar_type()) || values.dim() < 1) {
    return Error{fmt::format("FP4 packing needs a float tensor of E2M1 values, got {} with {} dims",
                             c10::toString(values.scalar_type()), values.dim())};
  }
  const int64_t cols = values.size(-1);
  if (cols % 2 != 0) return Error{fmt::format("FP4 packing needs an even number of columns, got {}", cols)};
  const at::Tensor floats = values.to(at::kFloat).contiguous();
  std::vector<int64_t> shape(values.sizes().begin(), values.sizes().end());
  shape.back() = cols / 2;
  at::Tensor packed = at::empty(shape, at::kByte);
  const float* in = floats.const_data_ptr<float>();
  uint8_t* out = packed.mutable_data_ptr<uint8_t>();
  const int64_t bytes = packed.numel();
  for (int64_t j = 0; j < bytes; ++j) {
    const auto low = e2m1_code(in[2 * j]);
    const auto high = e2m1_code(in[2 * j + 1]);
    if (!low || !high) {
      return Error{fmt::format("value {} at flat index {} is not an E2M1 value (0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6)",
                               low ? in[2 * j + 1] : in[2 * j], low ? 2 * j + 1 : 2 * j)};
    }
    out[j] = static_cast<uint8_t>(*low | (*high << 4));
  }
  return packed;
}

Expected<at::Tensor> unpack_fp4(const at::Tensor& packed) {
  if (packed.scalar_type() != at::kByte || packed.dim() < 1) {
    return Error{fmt::format("packed FP4 values must be uint8, got {}", c10::toString(packed.scalar_type()))};
  }
  const at::Tensor bytes = packed.contiguous();
  std::vector<int64_t> shape(packed.sizes().begin(), packed.sizes().end());
  shape.back() *= 2;
  at::Tensor values = at::empty(shape, at::kFloat);
  const uint8_t* in = bytes.const_data_ptr<uint8_t>();
  float* out = values.mutable_data_ptr<float>();
  for (int64_t j = 0; j < bytes.numel(); ++j) {
    out[2 * j] = e2m1_value(in[j] & 0xF);
    out[2 * j + 1] = e2m1_value(in[j] >> 4);
  }
  return values;
}

}  // namespace llmc::format
