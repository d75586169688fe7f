// core/format/int_packing.cpp - dense cross-word int32 packing, one row at a time through a 64-bit
// accumulator.
#include "format/int_packing.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "format/tensor_dtype.h"

namespace llmc::format {
namespace {

Status check_bits(int num_bits) {
  if (num_bits < 1 || num_bits > 8) return Error{fmt::format("packing supports num_bits 1..8, got {}", num_bits)};
  return Status::ok();
}

// The slices as [E, rows, cols] views (E = 1 for a 2-D tensor), made contiguous with the packed dim last.
at::Tensor as_slices(const at::Tensor& tensor, PackDim dim) {
  at::Tensor slices = tensor.dim() == 2 ? tensor.unsqueeze(0) : tensor;
  if (dim == PackDim::rows) slices = slices.transpose(1, 2);
  return slices.contiguous();
}

// The inverse of as_slices for a result computed with the packed dim last.
at::Tensor from_slices(at::Tensor slices, PackDim dim, int64_t ndim) {
  if (dim == PackDim::rows) slices = slices.transpose(1, 2).contiguous();
  return ndim == 2 ? slices.squeeze(0) : slices;
}

// Lowers `target` to `value` if that is smaller, whichever thread gets there first.
void lower_to(std::atomic<int64_t>& target, int64_t value) {
  int64_t seen = target.load();
  while (value < seen && !target.compare_exchange_weak(seen, value)) {
  }
}

// Widths that divide 32 fill each word with whole values: the words are independent, so with the width known
// at compile time the loop vectorizes. Returns how many values it packed (whole words); ORs the bits of
// offset values beyond the width into out_of_range.
template <int Bits>
size_t pack_whole_words(std::span<const int8_t> values, std::span<int32_t> out, uint32_t& out_of_range) {
  constexpr int32_t kOffset = 1 << (Bits - 1);
  constexpr uint32_t kMask = (1u << Bits) - 1;
  constexpr size_t kPerWord = 32 / Bits;
  const size_t words = values.size() / kPerWord;
  uint32_t beyond = 0;
  for (size_t w = 0; w < words; ++w) {
    uint32_t word = 0;
    for (size_t k = 0; k < kPerWord; ++k) {
      const uint32_t u = static_cast<uint32_t>(values[w * kPerWord + k] + kOffset);
      beyond |= u & ~kMask;
      word |= (u & kMask) << (k * Bits);
    }
    out[w] = static_cast<int32_t>(word);
  }
  out_of_range |= beyond;
  return words * kPerWord;
}

size_t pack_whole_words(std::span<const int8_t> values, int num_bits, std::span<int32_t> out, uint32_t& out_of_range) {
  switch (num_bits) {
    case 1: return pack_whole_words<1>(values, out, out_of_range);
    case 2: return pack_whole_words<2>(values, out, out_of_range);
    case 4: return pack_whole_words<4>(values, out, out_of_range);
    case 8: return pack_whole_words<8>(values, out, out_of_range);
    default: return 0;
  }
}

}  // namespace

int64_t packed_words(int64_t count, int num_bits) { return (count * num_bits + 31) / 32; }

int64_t pack_row(std::span<const int8_t> values, int num_bits, std::span<int32_t> out) {
  const int32_t offset = 1 << (num_bits - 1);
  const uint32_t mask = (1u << num_bits) - 1;
  uint32_t out_of_range = 0;
  const size_t packed = pack_whole_words(values, num_bits, out, out_of_range);
  uint64_t acc = 0;
  int bits = 0;
  size_t word = packed * num_bits / 32;
  for (const int8_t value : values.subspan(packed)) {
    const uint32_t u = static_cast<uint32_t>(value + offset);
    out_of_range |= u & ~mask;
    acc |= static_cast<uint64_t>(u & mask) << bits;
    bits += num_bits;
    if (bits >= 32) {
      out[word++] = static_cast<int32_t>(static_cast<uint32_t>(acc));
      acc >>= 32;
      bits -= 32;
    }
  }
  if (bits > 0) out[word] = static_cast<int32_t>(static_cast<uint32_t>(acc));
  if (out_of_range == 0) return -1;
  for (size_t k = 0; k < values.size(); ++k) {
    if (static_cast<uint32_t>(values[k] + offset) & ~mask) return static_cast<int64_t>(k);
  }
  return -1;
}

void unpack_row(std::span<const int32_t> words, int num_bits, std::span<int8_t> out) {
  const int32_t offset = 1 << (num_bits - 1);
  const uint64_t mask = (1u << num_bits) - 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const uint64_t bit = k * num_bits;
    const size_t word = bit / 32;
    uint64_t pair = static_cast<uint32_t>(words[word]);
    if (word + 1 < words.size()) pair |= static_cast<uint64_t>(static_cast<uint32_t>(words[word + 1])) << 32;
    out[k] = static_cast<int8_t>(static_cast<int32_t>((pair >> (bit % 32)) & mask) - offset);
  }
}

Expected<at::Tensor> pack_int32(const at::Tensor& values, int num_bits, PackDim dim) {
  LLMC_TRY(check_bits(num_bits));
  if (values.scalar_type() != at::kChar) {
    return Error{fmt::format("packing needs int8 values, got {}", c10::toString(values.scalar_type()))};
  }
  if (values.dim() != 2 && values.dim() != 3) {
    return Error{fmt::format("packing needs a 2-D or 3-D tensor, got shape {}", shape_string(values.sizes()))};
  }
  const at::Tensor slices = as_slices(values, dim);
  const int64_t count = slices.size(0) * slices.size(1);
  const int64_t cols = slices.size(2);
  const int64_t words = packed_words(cols, num_bits);
  at::Tensor packed = at::empty({slices.size(0), slices.size(1), words}, at::kInt);  // pack_row fills every word
  const int8_t* in = slices.const_data_ptr<int8_t>();
  int32_t* out = packed.mutable_data_ptr<int32_t>();
  std::atomic<int64_t> first_bad{count * cols};  // the flat index of the first value out of range
  at::parallel_for(0, count, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t row = begin; row < end; ++row) {
                       const int64_t bad = pack_row({in + row * cols, static_cast<size_t>(cols)}, num_bits,
                                                    {out + row * words, static_cast<size_t>(words)});
                       if (bad < 0) continue;
                       lower_to(first_bad, row * cols + bad);
                       return;  // rows after it cannot hold an earlier value
                     }
                   });
  if (const int64_t bad = first_bad.load(); bad < count * cols) {
    return Error{fmt::format("value {} does not fit {} bits (range [{}, {}])", in[bad], num_bits,
                             -(1 << (num_bits - 1)), (1 << (num_bits - 1)) - 1)};
  }
  return from_slices(packed, dim, values.dim());
}

Expected<at::Tensor> unpack_int32(const at::Tensor& packed, int num_bits, std::span<const int64_t> shape,
                                  PackDim dim) {
  LLMC_TRY(check_bits(num_bits));
  if (packed.scalar_type() != at::kInt) {
    return Error{fmt::format("packed values must be int32, got {}", c10::toString(packed.scalar_type()))};
  }
  const at::IntArrayRef sizes(shape.data(), shape.size());
  if ((shape.size() != 2 && shape.size() != 3) || packed.dim() != static_cast<int64_t>(shape.size())) {
    return Error{fmt::format("cannot unpack {} into shape {}", shape_string(packed.sizes()), shape_string(sizes))};
  }
  std::vector<int64_t> expected(shape.begin(), shape.end());
  const size_t packed_dim = dim == PackDim::columns ? shape.size() - 1 : shape.size() - 2;
  expected[packed_dim] = packed_words(shape[packed_dim], num_bits);
  if (packed.sizes() != at::IntArrayRef(expected)) {
    return Error{fmt::format("packed shape {} does not match {} of {}-bit values (expected {})",
                             shape_string(packed.sizes()), shape_string(sizes), num_bits, shape_string(expected))};
  }
  const at::Tensor slices = as_slices(packed, dim);
  const int64_t count = slices.size(0) * slices.size(1);
  const int64_t words = slices.size(2);
  const int64_t cols = shape[dim == PackDim::columns ? shape.size() - 1 : shape.size() - 2];
  at::Tensor values = at::empty({slices.size(0), slices.size(1), cols}, at::kChar);
  const int32_t* in = slices.const_data_ptr<int32_t>();
  int8_t* out = values.mutable_data_ptr<int8_t>();
  for (int64_t row = 0; row < count; ++row) {
    unpack_row({in + row * words, static_cast<size_t>(words)}, num_bits,
               {out + row * cols, static_cast<size_t>(cols)});
  }
  return from_slices(values, dim, static_cast<int64_t>(shape.size()));
}

}  // namespace llmc::format
