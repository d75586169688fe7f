// core/exec/bfloat16_rounding.cpp
#include "exec/bfloat16_rounding.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <bit>
#include <cstdint>
#include <limits>

namespace llmc::exec {
namespace {

// Branch-free so that GCC vectorizes the loops below (built at -O3, see core/CMakeLists.txt).
inline float round_to_bfloat16(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
  return std::bit_cast<float>((bits & 0x7FFFFFFFu) > 0x7F800000u ? bits : rounded);
}

__attribute__((target_clones("avx2", "default"))) void round_values(float* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) values[i] = round_to_bfloat16(values[i]);
}

__attribute__((target_clones("avx2", "default"))) void scale_and_mask_row(float* scores, const uint8_t* allowed,
                                                                           int64_t count, float scale,
                                                                           float masked) {
  for (int64_t j = 0; j < count; ++j) {
    const float scaled = round_to_bfloat16(round_to_bfloat16(scores[j]) * scale);
    scores[j] = round_to_bfloat16(scaled + (allowed[j] ? 0.0f : masked));
  }
}

}  // namespace

void round_to_bfloat16_(at::Tensor& values) {
  TORCH_CHECK(values.scalar_type() == at::kFloat && values.is_contiguous(), "round_to_bfloat16_: contiguous float32");
  float* data = values.data_ptr<float>();
  at::parallel_for(0, values.numel(), 1 << 16,
                   [&](int64_t begin, int64_t end) { round_values(data + begin, end - begin); });
}

void scale_and_mask_as_bfloat16_(at::Tensor& scores, const at::Tensor& allowed, double scale) {
  TORCH_CHECK(scores.scalar_type() == at::kFloat && scores.is_contiguous() && scores.dim() == 4,
              "scale_and_mask_as_bfloat16_: contiguous float32 [B, H, T, S] scores");
  const int64_t heads = scores.size(1), rows = scores.size(2), columns = scores.size(3);
  const at::Tensor mask = allowed.expand({scores.size(0), 1, rows, columns}).contiguous();
  TORCH_CHECK(mask.scalar_type() == at::kBool, "scale_and_mask_as_bfloat16_: a bool mask");
  const auto* keep = reinterpret_cast<const uint8_t*>(mask.const_data_ptr<bool>());  // bool is one byte, 0 or 1
  float* data = scores.data_ptr<float>();
  const float factor = static_cast<float>(scale);  // the float opmath value ATen's kernel multiplies by
  const float masked = static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
  at::parallel_for(0, scores.size(0) * heads * rows, 32, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t sequence = row / (heads * rows), query = row % rows;
      scale_and_mask_row(data + row * columns, keep + (sequence * rows + query) * columns, columns, factor, masked);
    }
  });
}

}  // namespace llmc::exec
