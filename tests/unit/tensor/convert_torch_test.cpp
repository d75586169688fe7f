// tests/unit/tensor/convert_torch_test.cpp - copy_convert against torch's `dst.copy_(src)`, every dtype
// pair, compact and strided (with byte_offset), and the CUDA path against the CPU one.
//
// Tolerance: exact, byte for byte, NaN payloads included, against torch's copy_ into a contiguous
// destination. (torch's strided copy can differ from its own contiguous one in NaN payloads: f32 -> bf16
// NaN is 0xFFFF from its vectorized loop and 0x7FC0 from its scalar one; llmc writes the contiguous
// result for every layout, so the strided case is held to the same bytes.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>

#include "tensor/convert.h"
#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"
#include "tensor/torch_cases.h"

namespace llmc {

// Test names and messages show the dtype, not its byte.
void PrintTo(DType dtype, std::ostream* out) { *out << name(dtype); }

namespace {

const DType kDTypes[] = {DType::BOOL, DType::U8,   DType::I8,  DType::I16, DType::I32,    DType::I64,
                         DType::F16,  DType::BF16, DType::F32, DType::F64, DType::F8_E4M3};

size_t element_size(DType dtype) { return traits(dtype).bits / 8; }

std::string hex(const uint8_t* p, size_t size) {
  uint64_t bits = 0;
  std::memcpy(&bits, p, size);
  return fmt::format("0x{:0{}x}", bits, 2 * size);
}

/// Checks `got` (n elements of `dst`, element i at got + i * stride elements) against torch's bytes.
void expect_matches(DType src, const uint8_t* input, DType dst, const uint8_t* expected, const uint8_t* got,
                    int64_t n, int64_t stride) {
  const size_t size = element_size(dst);
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* want = expected + i * size;
    const uint8_t* have = got + i * stride * size;
    if (std::memcmp(want, have, size) == 0) continue;
    if (++mismatches <= 8)
      ADD_FAILURE() << name(src) << " -> " << name(dst) << " element " << i << ": input "
                    << hex(input + i * element_size(src), element_size(src)) << ", torch " << hex(want, size)
                    << ", llmc " << hex(have, size);
  }
  EXPECT_EQ(mismatches, 0) << "of " << n << " elements";
}

llmc_dl_tensor view_1d(const void* data, DType dtype, int64_t* shape, int64_t* strides, uint64_t byte_offset,
                       llmc_dl_device device = kCpu) {
  return llmc_dl_tensor{const_cast<void*>(data), device, 1, to_dl(dtype), shape, strides, byte_offset};
}

class ConvertTorch : public testing::TestWithParam<std::tuple<DType, DType>> {
 protected:
  void SetUp() override {
    std::string error;
    dir_ = test::torch_convert_cases(error);
    ASSERT_FALSE(dir_.empty()) << error;
    std::tie(src_, dst_) = GetParam();
    input_ = test::read_file(dir_ / fmt::format("{}.bin", name(src_)));
    expected_ = test::read_file(dir_ / fmt::format("{}_to_{}.bin", name(src_), name(dst_)));
    n_ = static_cast<int64_t>(input_.size / element_size(src_));
    ASSERT_GT(n_, 0);
    ASSERT_EQ(expected_.size, n_ * element_size(dst_));
  }

  std::filesystem::path dir_;
  DType src_{}, dst_{};
  test::FileBytes input_, expected_;
  int64_t n_ = 0;
};

TEST_P(ConvertTorch, CompactMatchesTorch) {
  auto out = Tensor::allocate(dst_, {n_});
  ASSERT_TRUE(out) << out.error().message;
  int64_t shape[] = {n_};
  ASSERT_TRUE(copy_convert(view_1d(input_.data(), src_, shape, nullptr, 0), out->dl_view()));
  expect_matches(src_, input_.data(), dst_, expected_.data(), static_cast<const uint8_t*>(out->data()), n_,
                 1);
}

// The same elements through the strided loops: the source every 2nd element, the destination every 3rd
// element after a one-element byte_offset.
TEST_P(ConvertTorch, StridedMatchesTorch) {
  const size_t in_size = element_size(src_), out_size = element_size(dst_);
  std::vector<uint64_t> in((2 * n_ * in_size + 7) / 8), out((3 * n_ * out_size + out_size + 7) / 8);
  auto* in_bytes = reinterpret_cast<uint8_t*>(in.data());
  for (int64_t i = 0; i < n_; ++i)
    std::memcpy(in_bytes + 2 * i * in_size, input_.data() + i * in_size, in_size);
  int64_t shape[] = {n_}, in_strides[] = {2}, out_strides[] = {3};
  ASSERT_TRUE(copy_convert(view_1d(in.data(), src_, shape, in_strides, 0),
                           view_1d(out.data(), dst_, shape, out_strides, out_size)));
  expect_matches(src_, input_.data(), dst_, expected_.data(),
                 reinterpret_cast<const uint8_t*>(out.data()) + out_size, n_, 3);
}

// CUDA gives the CPU's bytes exactly (NaN payloads included: both run element::cast).
TEST_P(ConvertTorch, CudaMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  const size_t in_size = element_size(src_), out_size = element_size(dst_);
  auto cpu = Tensor::allocate(dst_, {n_});
  auto src = Tensor::allocate(src_, {n_}, cuda_device(0));
  auto dst = Tensor::allocate(dst_, {n_}, cuda_device(0));
  ASSERT_TRUE(cpu && src && dst);
  int64_t shape[] = {n_};
  ASSERT_TRUE(copy_convert(view_1d(input_.data(), src_, shape, nullptr, 0), cpu->dl_view()));
  ASSERT_TRUE(copy_bytes(src->data(), src->device(), input_.data(), kCpu, n_ * in_size));
  const Status status = copy_convert(src->dl_view(), dst->dl_view());
  ASSERT_TRUE(status) << status.error().message;
  std::vector<uint8_t> got(n_ * out_size);
  ASSERT_TRUE(copy_bytes(got.data(), kCpu, dst->data(), dst->device(), got.size()));
  EXPECT_EQ(std::memcmp(got.data(), cpu->data(), got.size()), 0);

  // Strided on the device: a reversed-order 2-D view of the same buffer.
  if (n_ % 2 != 0) return;
  auto strided = Tensor::allocate(dst_, {n_}, cuda_device(0));
  ASSERT_TRUE(strided);
  int64_t shape2[] = {2, n_ / 2}, src_strides[] = {1, 2}, dst_strides[] = {1, 2};
  llmc_dl_tensor src_view = src->dl_view(), dst_view = strided->dl_view();
  src_view.ndim = dst_view.ndim = 2;
  src_view.shape = dst_view.shape = shape2;
  src_view.strides = src_strides;
  dst_view.strides = dst_strides;
  ASSERT_TRUE(copy_convert(src_view, dst_view));
  ASSERT_TRUE(copy_bytes(got.data(), kCpu, strided->data(), strided->device(), got.size()));
  EXPECT_EQ(std::memcmp(got.data(), cpu->data(), got.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, ConvertTorch,
                         testing::Combine(testing::ValuesIn(kDTypes), testing::ValuesIn(kDTypes)),
                         [](const testing::TestParamInfo<ConvertTorch::ParamType>& info) {
                           return fmt::format("{}_to_{}", name(std::get<0>(info.param)),
                                              name(std::get<1>(info.param)));
                         });

}  // namespace
}  // namespace llmc
