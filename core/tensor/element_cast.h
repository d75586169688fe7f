// core/tensor/element_cast.h - one element converted between dtypes with torch's `copy_` semantics, for
// the CPU loops and the CUDA kernels alike (C++17 and no library calls but memcpy: nvcc compiles it
// for the device). tests/unit/tensor/convert_torch_test.cpp holds it to torch's bytes.
//
// Every conversion goes through the widest type of the source's kind (float, double or int64), then
// narrows the way torch's CPU kernels do:
//  - float results round to nearest even; a double or int64 headed for bf16/f16/f8 first rounds to
//    float (torch casts through float, so double rounding is part of the contract);
//  - f16 follows c10 (the same bits as x86 F16C: NaN keeps its sign and top payload bits, quieted);
//    bf16 NaN is c10's 0x7FC0, but 0xFFFF from f32/f64 (see cast()); f8_e4m3fn follows c10's
//    fp8e4m3fn_from_fp32_value, which in torch 2.14 saturates finite overflow and infinities to
//    +-448 and maps NaN to 0x7F with the sign;
//  - float -> integer truncates toward zero. Out of range and NaN are undefined in C++; we fix x86's
//    cvtt* results, which torch's CPU copy shows: a target of up to 32 bits takes INT32_MIN from an
//    out-of-range or NaN input and then wraps to its width (so 300.0 -> int8 gives 44, 1e10 -> 0);
//    int64 takes INT64_MIN, and so does double -> uint8 before it wraps (torch's observed results);
//  - integer -> narrower integer wraps (two's complement); anything -> bool is `!= 0` (NaN is true);
//  - same dtype: the bits, NaN payloads included.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__CUDACC__)
#define LLMC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LLMC_HOST_DEVICE inline __attribute__((always_inline))
#endif

namespace llmc::element {

// Storage types of the dtypes that C++ has no arithmetic type for.
struct Bool { uint8_t bits; };
struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };
struct F8E4M3 { uint8_t bits; };

LLMC_HOST_DEVICE uint32_t bits_of(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

LLMC_HOST_DEVICE float float_of(uint32_t bits) {
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

// cond ? a : b as bit masks: GCC if-converts (and so vectorizes) this where it does not a ternary.
LLMC_HOST_DEVICE uint32_t select(bool cond, uint32_t a, uint32_t b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(cond);
  return (a & mask) | (b & ~mask);
}

// ---- to float (exact) ----------------------------------------------------------------------------

// c10's fp16_ieee_to_fp32_value: branch-free, so the loop vectorizes.
LLMC_HOST_DEVICE float to_float(F16 h) {
  const uint32_t w = uint32_t{h.bits} << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const float normalized = float_of((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = float_of((two_w >> 17) | (126u << 23)) - 0.5f;
  return float_of(sign | select(two_w < (1u << 27), bits_of(denormalized), bits_of(normalized)));
}

LLMC_HOST_DEVICE float to_float(BF16 b) { return float_of(uint32_t{b.bits} << 16); }

// c10's fp8e4m3fn_to_fp32_value.
LLMC_HOST_DEVICE float to_float(F8E4M3 f) {
  const uint32_t w = uint32_t{f.bits} << 24;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t nonsign = w & 0x7FFFFFFFu;
#if defined(__CUDA_ARCH__)
  uint32_t renorm_shift = __clz(nonsign);
#else
  uint32_t renorm_shift = nonsign != 0 ? __builtin_clz(nonsign) : 32;
#endif
  renorm_shift = renorm_shift > 4 ? renorm_shift - 4 : 0;
  const int32_t inf_nan_mask = (static_cast<int32_t>(nonsign + 0x01000000u) >> 8) & 0x7F800000;
  const int32_t zero_mask = static_cast<int32_t>(nonsign - 1) >> 31;
  return float_of(sign | ((((nonsign << renorm_shift >> 4) + ((0x78u - renorm_shift) << 23)) |
                           static_cast<uint32_t>(inf_nan_mask)) &
                          ~static_cast<uint32_t>(zero_mask)));
}

// ---- from float (round to nearest even) ----------------------------------------------------------

// c10's fp16_ieee_from_fp32_value, except NaN, which keeps the sign and top payload bits like F16C
// (torch's vectorized CPU copy).
LLMC_HOST_DEVICE F16 to_f16(float f) {
  float base = (((f < 0 ? -f : f) * 0x1.0p+112f) * 0x1.0p-110f);
  const uint32_t w = bits_of(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t bias = select((shl1_w & 0xFF000000u) < 0x71000000u, 0x71000000u, shl1_w & 0xFF000000u);
  base = float_of((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = bits_of(base);
  const uint32_t nonsign = ((bits >> 13) & 0x00007C00u) + (bits & 0x00000FFFu);
  const uint32_t nan = 0x7E00u | ((w & 0x007FFFFFu) >> 13);
  return F16{static_cast<uint16_t>((sign >> 16) | select(shl1_w > 0xFF000000u, nan, nonsign))};
}

LLMC_HOST_DEVICE BF16 to_bf16(float f) {
  const uint32_t w = bits_of(f);
  const uint32_t rounded = (w + 0x7FFFu + ((w >> 16) & 1u)) >> 16;
  return BF16{static_cast<uint16_t>((w & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded)};
}

// c10's fp8e4m3fn_from_fp32_value (torch 2.14: saturating), its three branches computed and selected.
LLMC_HOST_DEVICE F8E4M3 to_f8e4m3(float f) {
  constexpr uint32_t fp8_max = 1087u << 20;  // 480.0f, the first value past the fp8e4m3fn range
  constexpr uint32_t denorm_mask = 141u << 23;
  const uint32_t w = bits_of(f);
  const uint32_t sign = w & 0x80000000u;
  const uint32_t magnitude = w ^ sign;
  // below 2^-6, the smallest normal: the float addition rounds the mantissa into place
  const uint32_t subnormal = bits_of(float_of(magnitude) + float_of(denorm_mask)) - denorm_mask;
  // normal: rebias the exponent and round to nearest even by hand; a carry into 0x7F saturates
  uint32_t normal = (magnitude + ((uint32_t)(7 - 127) << 23) + 0x7FFFFu + ((magnitude >> 20) & 1u)) >> 20;
  normal = select(normal == 0x7Fu, 0x7Eu, normal);
  const uint32_t overflow = select(magnitude > 0x7F800000u, 0x7Fu, 0x7Eu);  // NaN stays NaN
  const uint32_t result =
      select(magnitude >= fp8_max, overflow, select(magnitude < (121u << 23), subnormal, normal));
  return F8E4M3{static_cast<uint8_t>((result & 0xFFu) | (sign >> 24))};
}

// ---- truncation to integers (x86 cvtt* results, see the top) --------------------------------------

LLMC_HOST_DEVICE int32_t truncate_to_i32(double x) {
  return (x > -2147483649.0 && x < 2147483648.0) ? static_cast<int32_t>(x) : INT32_MIN;
}

LLMC_HOST_DEVICE int64_t truncate_to_i64(double x) {
  return (x >= -0x1.0p63 && x < 0x1.0p63) ? static_cast<int64_t>(x) : INT64_MIN;
}

// ---- widening: every source to float, double or int64 ---------------------------------------------

LLMC_HOST_DEVICE int64_t widen(Bool v) { return v.bits != 0; }
LLMC_HOST_DEVICE int64_t widen(uint8_t v) { return v; }
LLMC_HOST_DEVICE int64_t widen(int8_t v) { return v; }
LLMC_HOST_DEVICE int64_t widen(int16_t v) { return v; }
LLMC_HOST_DEVICE int64_t widen(int32_t v) { return v; }
LLMC_HOST_DEVICE int64_t widen(int64_t v) { return v; }
LLMC_HOST_DEVICE float widen(F16 v) { return to_float(v); }
LLMC_HOST_DEVICE float widen(BF16 v) { return to_float(v); }
LLMC_HOST_DEVICE float widen(F8E4M3 v) { return to_float(v); }
LLMC_HOST_DEVICE float widen(float v) { return v; }
LLMC_HOST_DEVICE double widen(double v) { return v; }

// ---- narrowing: float, double or int64 to each destination ----------------------------------------

template <class D>
struct Narrow;

template <>
struct Narrow<Bool> {
  template <class W>
  LLMC_HOST_DEVICE static Bool from(W w) { return Bool{static_cast<uint8_t>(w != 0)}; }
};

template <>
struct Narrow<float> {
  template <class W>
  LLMC_HOST_DEVICE static float from(W w) { return static_cast<float>(w); }
};

template <>
struct Narrow<double> {
  template <class W>
  LLMC_HOST_DEVICE static double from(W w) { return static_cast<double>(w); }
};

template <>
struct Narrow<F16> {
  template <class W>
  LLMC_HOST_DEVICE static F16 from(W w) { return to_f16(static_cast<float>(w)); }
};

template <>
struct Narrow<BF16> {
  template <class W>
  LLMC_HOST_DEVICE static BF16 from(W w) { return to_bf16(static_cast<float>(w)); }
};

template <>
struct Narrow<F8E4M3> {
  template <class W>
  LLMC_HOST_DEVICE static F8E4M3 from(W w) { return to_f8e4m3(static_cast<float>(w)); }
};

template <>
struct Narrow<int64_t> {
  LLMC_HOST_DEVICE static int64_t from(int64_t w) { return w; }
  LLMC_HOST_DEVICE static int64_t from(float w) { return truncate_to_i64(w); }
  LLMC_HOST_DEVICE static int64_t from(double w) { return truncate_to_i64(w); }
};

// int8, uint8, int16, int32: integers wrap (modular, as GCC and nvcc define it); floats go through
// int32, except double -> uint8, which torch's CPU kernel (as compiled) truncates through int64.
template <class D>
struct Narrow {
  LLMC_HOST_DEVICE static D from(int64_t w) { return static_cast<D>(w); }
  LLMC_HOST_DEVICE static D from(float w) { return static_cast<D>(truncate_to_i32(w)); }
  LLMC_HOST_DEVICE static D from(double w) {
    if constexpr (std::is_same_v<D, uint8_t>) {
      return static_cast<D>(truncate_to_i64(w));
    } else {
      return static_cast<D>(truncate_to_i32(w));
    }
  }
};

template <class D, class S>
LLMC_HOST_DEVICE D cast(S value) {
  if constexpr (std::is_same_v<D, S>) {
    return value;  // bit for bit, NaN payloads included, as torch's same-dtype copy
  } else if constexpr (std::is_same_v<D, BF16> && (std::is_same_v<S, float> || std::is_same_v<S, double>)) {
    // torch's vectorized f32/f64 -> bf16 loop writes every NaN as 0xFFFF (its scalar one, which the
    // other sources take, c10's 0x7FC0); we follow its contiguous copy whatever the layout.
    const float f = static_cast<float>(value);
    return (bits_of(f) & 0x7FFFFFFFu) > 0x7F800000u ? BF16{0xFFFF} : to_bf16(f);
  } else {
    return Narrow<D>::from(widen(value));
  }
}

}  // namespace llmc::element
