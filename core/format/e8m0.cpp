// core/format/e8m0.cpp - E8M0 scale bytes.
#include "format/e8m0.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace llmc::format {

Expected<at::Tensor> encode_e8m0(const at::Tensor& scale) {
  if (scale.scalar_type() == at::kByte) return scale;
  if (!at::isFloatingType(scale.scalar_type())) {
    return Error{fmt::format("an MX scale must be a float or uint8 (E8M0) tensor, got {}",
                             c10::toString(scale.scalar_type()))};
  }
  const at::Tensor floats = scale.to(at::kFloat).contiguous();
  at::Tensor bytes = at::empty(scale.sizes(), at::kByte);
  const float* in = floats.const_data_ptr<float>();
  uint8_t* out = bytes.mutable_data_ptr<uint8_t>();
  for (int64_t i = 0; i < floats.numel(); ++i) {
    int exponent = 0;
    const float mantissa = std::frexp(in[i], &exponent);  // in = mantissa * 2^exponent, mantissa in [0.5, 1)
    const int biased = exponent - 1 + 127;
    if (mantissa != 0.5f || biased < 0 || biased > 254) {
      return Error{fmt::format("MX scale {} at flat index {} is not a power of two in [2^-127, 2^127]", in[i], i)};
    }
    out[i] = static_cast<uint8_t>(biased);
  }
  return bytes;
}

at::Tensor decode_e8m0(const at::Tensor& exponents) {
  return at::exp2(exponents.to(at::kFloat) - 127.0);
}

}  // namespace llmc::format
