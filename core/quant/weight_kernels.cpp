// core/quant/weight_kernels.cpp - the weight observer's min/max and CT's quantize ops fused per element, each
// op's rounding kept, over rows in parallel.
#include "quant/weight_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Float8_e4m3fn.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace llmc::quant {
namespace {

// Eight lanes as GCC vector extensions: IEEE arithmetic per lane, compiled for AVX2 where the CPU has it
// (target_clones below) and as SSE pairs elsewhere.
using Floats = float __attribute__((vector_size(32)));
using Ints = int32_t __attribute__((vector_size(32)));
using Bits = uint32_t __attribute__((vector_size(32)));
using Halves = uint16_t __attribute__((vector_size(16)));
using Bytes = int8_t __attribute__((vector_size(8)));
using Bytes32 = int8_t __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;
// The helpers take and return vectors: inlined into each clone, they never cross its ABI boundary, which
// GCC warns differs between AVX and SSE builds.
#define LLMC_LANES_INLINE inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

// bfloat16 values widened to float: their bits are float's upper half.
LLMC_LANES_INLINE Floats widen(const c10::BFloat16* in) {
  Halves bits;
  std::memcpy(&bits, in, sizeof(bits));
  return reinterpret_cast<Floats>(__builtin_convertvector(bits, Bits) << 16);
}

LLMC_LANES_INLINE Floats widen(const float* in) {
  Floats values;
  std::memcpy(&values, in, sizeof(values));
  return values;
}

LLMC_LANES_INLINE Floats widen(const c10::Half* in) {
  Floats values;
  for (int64_t lane = 0; lane < kLanes; ++lane) values[lane] = static_cast<float>(in[lane]);
  return values;
}

// An op's float result as stored in its dtype T: ATen computes reduced-float ops in float and rounds to
// nearest even (c10::BFloat16's rule: NaN becomes the quiet NaN 0x7FC0).
template <typename T>
LLMC_LANES_INLINE Floats stored_as(Floats values) {
  if constexpr (std::is_same_v<T, float>) {
    return values;
  } else if constexpr (std::is_same_v<T, c10::BFloat16>) {
    const Bits bits = reinterpret_cast<Bits>(values);
    const Bits rounded = (bits + 0x7FFFU + ((bits >> 16) & 1U)) & 0xFFFF0000U;
    const Bits quiet_nan = Bits{} + 0x7FC00000U;
    return reinterpret_cast<Floats>(values != values ? quiet_nan : rounded);
  } else {
    for (int64_t lane = 0; lane < kLanes; ++lane) values[lane] = static_cast<float>(static_cast<T>(values[lane]));
    return values;
  }
}

// A 2-D weight's reduction sets: `groups` consecutive runs of `group_width` columns per row.
struct Layout {
  int64_t rows, cols;
  int64_t groups, group_width;
};

bool is_fused_float(at::ScalarType dtype) {
  return dtype == at::kBFloat16 || dtype == at::kHalf || dtype == at::kFloat;
}

// The layout of the strategies these kernels take (per tensor: per row, reduced once more by the caller).
std::optional<Layout> layout_of(const at::Tensor& x, const recipe::QuantArgs& args) {
  if (!x.device().is_cpu() || x.dim() != 2 || !x.is_contiguous() || x.numel() == 0) return std::nullopt;
  if (!is_fused_float(x.scalar_type()) || !args.strategy) return std::nullopt;
  const int64_t rows = x.size(0), cols = x.size(1);
  switch (*args.strategy) {
    case recipe::Strategy::tensor:
    case recipe::Strategy::channel: return Layout{rows, cols, 1, cols};
    case recipe::Strategy::group:
      if (!args.group_size || *args.group_size <= 0 || cols % *args.group_size != 0) return std::nullopt;
      return Layout{rows, cols, cols / *args.group_size, *args.group_size};
    default: return std::nullopt;
  }
}

// Calls fn(row, group, offset of the group's first value) for every group, rows split across threads.
template <typename Fn>
void for_each_group(const Layout& layout, Fn&& fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / layout.cols);
  at::parallel_for(0, layout.rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      for (int64_t group = 0; group < layout.groups; ++group) {
        fn(row, group, row * layout.cols + group * layout.group_width);
      }
    }
  });
}

// Calls lanes(values) on each full chunk of kLanes values, then on a last partial chunk padded with `fill`;
// returns how many values the last chunk holds (kLanes if there was none).
template <typename In, typename Lanes>
LLMC_LANES_INLINE int64_t for_each_chunk(const In* in, int64_t count, In fill, Lanes&& lanes) {
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) lanes(in + i, i);
  if (i == count) return kLanes;
  In padded[kLanes];
  std::fill(padded, padded + kLanes, fill);
  std::copy(in + i, in + count, padded);
  lanes(padded, i);
  return count - i;
}

// One group's min and max; any NaN makes both NaN, as torch.amin / amax propagate it.
template <typename In>
__attribute__((target_clones("avx2", "default"))) void min_max_group(const In* in, int64_t count, float& min,
                                                                    float& max) {
  Floats low = Floats{} + std::numeric_limits<float>::infinity();
  Floats high = -low;
  Ints nan = Ints{};
  for_each_chunk(in, count, in[0], [&](const In* chunk, int64_t) {  // padding with a member changes nothing
    const Floats values = widen(chunk);
    nan |= values != values;
    low = values < low ? values : low;
    high = high < values ? values : high;
  });
  min = low[0];
  max = high[0];
  bool any_nan = nan[0] != 0;
  for (int64_t lane = 1; lane < kLanes; ++lane) {
    min = std::min(min, low[lane]);
    max = std::max(max, high[lane]);
    any_nan = any_nan || nan[lane] != 0;
  }
  if (any_nan) min = max = std::numeric_limits<float>::quiet_NaN();
}

struct Range {
  float qmin, qmax;
};

// The low byte of each lane.
LLMC_LANES_INLINE Bytes low_bytes(Bits values) {
  const auto bytes = reinterpret_cast<Bytes32>(values);
  return __builtin_shufflevector(bytes, bytes, 0, 4, 8, 12, 16, 20, 24, 28);
}

// c10's fp8e4m3fn_from_fp32_value on eight lanes, both of its branches computed and one kept per lane:
// magnitudes from 480 (and Inf, NaN) give NaN 0x7F; below 2^-6 the subnormal rounding by a float add;
// otherwise rebias the exponent and round the mantissa to nearest even.
LLMC_LANES_INLINE Bytes to_float8_e4m3fn(Floats value) {
  constexpr uint32_t kNanFrom = 1087U << 20;     // 480.0f
  constexpr uint32_t kNormalFrom = 121U << 23;   // 2^-6
  constexpr uint32_t kSubnormalBias = 141U << 23;
  Bits bits = reinterpret_cast<Bits>(value);
  const Bits sign = bits & 0x80000000U;
  bits ^= sign;
  const Bits subnormal =
      reinterpret_cast<Bits>(reinterpret_cast<Floats>(bits) + reinterpret_cast<Floats>(Bits{} + kSubnormalBias)) -
      kSubnormalBias;
  const Bits normal = (bits + ((7U - 127U) << 23) + 0x7FFFFU + ((bits >> 20) & 1U)) >> 20;
  // magnitudes are below 2^31, so signed comparisons order them
  const Ints magnitude = reinterpret_cast<Ints>(bits);
  Bits result = magnitude < static_cast<int32_t>(kNormalFrom) ? subnormal : normal;
  result = magnitude >= static_cast<int32_t>(kNanFrom) ? Bits{} + 0x7FU : result;
  return low_bytes((result & 0xFFU) | (sign >> 24));
}

// Eight values through CT's ops: divide, add the zero point, clamp as std::min(std::max()) does (NaN stays),
// then round half to even (int) or cast (float8).
template <typename In, typename Compute, typename Out, bool Shifted>
LLMC_LANES_INLINE void quantize_lanes(const In* in, Out* out, float scale, float zero_point, Range range) {
  Floats value = stored_as<Compute>(widen(in) / scale);
  if constexpr (Shifted) value = stored_as<Compute>(value + zero_point);
  value = value < range.qmin ? Floats{} + range.qmin : value;
  value = range.qmax < value ? Floats{} + range.qmax : value;
  if constexpr (std::is_same_v<Out, int8_t>) {
    // torch.round of a value this small: adding and removing 1.5 * 2^23 leaves the float rounding (half to
    // even) at the units place; exact for |v| < 2^22.
    constexpr float kMagic = 12582912.0F;
    const Bytes bytes = low_bytes(reinterpret_cast<Bits>(__builtin_convertvector((value + kMagic) - kMagic, Ints)));
    std::memcpy(out, &bytes, sizeof(bytes));
  } else {
    const Bytes bytes = to_float8_e4m3fn(value);
    std::memcpy(out, &bytes, sizeof(bytes));
  }
}

template <typename In, typename Compute, typename Out, bool Shifted>
__attribute__((target_clones("avx2", "default"))) void quantize_group(const In* in, Out* out, int64_t count,
                                                                     float scale, float zero_point, Range range) {
  Out last[kLanes];
  const int64_t in_last = for_each_chunk(in, count, In(0.0F), [&](const In* chunk, int64_t at) {
    quantize_lanes<In, Compute, Out, Shifted>(chunk, at + kLanes <= count ? out + at : last, scale, zero_point, range);
  });
  if (in_last < kLanes) std::copy(last, last + in_last, out + count - in_last);
}

template <typename In, typename Compute, typename Out>
void quantize_rows(const In* x, const float* scale, const float* zero_point, const Layout& layout,
                   int64_t qparam_row_stride, Range range, Out* out) {
  for_each_group(layout, [&](int64_t row, int64_t group, int64_t at) {
    const int64_t qparam = row * qparam_row_stride + group;
    if (zero_point == nullptr) {
      quantize_group<In, Compute, Out, false>(x + at, out + at, layout.group_width, scale[qparam], 0.0F, range);
    } else {
      quantize_group<In, Compute, Out, true>(x + at, out + at, layout.group_width, scale[qparam], zero_point[qparam],
                                             range);
    }
  });
}

// Calls fn(tag) with a value of the C++ type of `dtype`, one of the fused float dtypes.
template <typename Fn>
void with_float_type(at::ScalarType dtype, Fn&& fn) {
  switch (dtype) {
    case at::kBFloat16: fn(c10::BFloat16()); break;
    case at::kHalf: fn(c10::Half()); break;
    default: fn(float()); break;
  }
}

}  // namespace

std::optional<MinMax> fused_weight_min_max(const at::Tensor& weight, const recipe::QuantArgs& args) {
  const auto layout = layout_of(weight, args);
  if (!layout) return std::nullopt;
  at::Tensor min_vals = at::empty({layout->rows, layout->groups}, at::kFloat);
  at::Tensor max_vals = at::empty_like(min_vals);
  float* mins = min_vals.mutable_data_ptr<float>();
  float* maxs = max_vals.mutable_data_ptr<float>();
  with_float_type(weight.scalar_type(), [&](auto tag) {
    using In = decltype(tag);
    const In* in = weight.const_data_ptr<In>();
    for_each_group(*layout, [&](int64_t row, int64_t group, int64_t at) {
      const int64_t set = row * layout->groups + group;
      min_max_group(in + at, layout->group_width, mins[set], maxs[set]);
    });
  });
  // float holds every value of the weight's dtype, so the conversion back is exact
  min_vals = min_vals.to(weight.scalar_type());
  max_vals = max_vals.to(weight.scalar_type());
  if (*args.strategy == recipe::Strategy::tensor) return MinMax{min_vals.min().reshape({1}), max_vals.max().reshape({1})};
  return MinMax{min_vals, max_vals};
}

std::optional<at::Tensor> fused_quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args,
                                         const ValueFormat& format) {
  const auto layout = layout_of(x, args);
  if (!layout || qparams.global_scale || qparams.g_idx || !format.storage_dtype) return std::nullopt;
  const at::ScalarType storage = *format.storage_dtype;
  const bool int8_values = format.rounding == Rounding::half_to_even && storage == at::kChar;
  const bool fp8_values = format.rounding == Rounding::float8_e4m3 && storage == at::kFloat8_e4m3fn;
  if (!int8_values && !fp8_values) return std::nullopt;
  const at::Tensor& scale = qparams.scale;
  if (!scale.device().is_cpu() || !is_fused_float(scale.scalar_type())) return std::nullopt;
  // qparams shaped as the strategy's: [1] per tensor, else one per group of each row
  const bool per_tensor = *args.strategy == recipe::Strategy::tensor;
  auto shaped = [&](const at::Tensor& t) {
    return per_tensor ? t.numel() == 1 : t.dim() == 2 && t.size(0) == layout->rows && t.size(1) == layout->groups;
  };
  if (!shaped(scale) || (qparams.zero_point && !shaped(*qparams.zero_point))) return std::nullopt;
  // x / scale computes in the promoted dtype; scales and zero points convert to float exactly (the zero point
  // first to x's dtype, as CT's add does).
  const at::ScalarType compute = at::promote_types(x.scalar_type(), scale.scalar_type());
  const at::Tensor scales = scale.to(at::kFloat).contiguous();
  at::Tensor zero_points;
  if (qparams.zero_point) zero_points = qparams.zero_point->to(x.scalar_type()).to(at::kFloat).contiguous();
  const float* zp = zero_points.defined() ? zero_points.const_data_ptr<float>() : nullptr;
  const Range range{static_cast<float>(format.qmin), static_cast<float>(format.qmax)};
  const int64_t qparam_row_stride = per_tensor ? 0 : layout->groups;
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(storage));
  with_float_type(x.scalar_type(), [&](auto input_tag) {
    using In = decltype(input_tag);
    with_float_type(compute, [&](auto compute_tag) {
      using Compute = decltype(compute_tag);
      if (int8_values) {
        quantize_rows<In, Compute>(x.const_data_ptr<In>(), scales.const_data_ptr<float>(), zp, *layout,
                                   qparam_row_stride, range, out.mutable_data_ptr<int8_t>());
      } else {
        quantize_rows<In, Compute>(x.const_data_ptr<In>(), scales.const_data_ptr<float>(), zp, *layout,
                                   qparam_row_stride, range, out.mutable_data_ptr<c10::Float8_e4m3fn>());
      }
    });
  });
  return out;
}

}  // namespace llmc::quant
