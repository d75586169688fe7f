// tests/unit/tensor/convert_test.cpp - copy_convert layouts (strides, byte_offset, scalars, empty
// tensors) and its errors. Element semantics against torch: convert_torch_test.cpp.
#include "tensor/convert.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "tensor/device.h"
#include "tensor/tensor.h"

namespace llmc {
namespace {

llmc_dl_tensor view(void* data, DType dtype, std::vector<int64_t>& shape,
                    std::vector<int64_t>* strides = nullptr, uint64_t byte_offset = 0,
                    llmc_dl_device device = kCpu) {
  return llmc_dl_tensor{data,         device,       static_cast<int32_t>(shape.size()),
                        to_dl(dtype), shape.data(), strides != nullptr ? strides->data() : nullptr,
                        byte_offset};
}

uint16_t bf16_of(float f) {  // the values below are exact in bf16
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return static_cast<uint16_t>(bits >> 16);
}

// A [2, 3, 4] float tensor stored transposed ([4, 3, 2] in memory) into a strided bf16 destination
// with gaps: every element must land where its index says.
TEST(Convert, PermutedSourceIntoPaddedDestination) {
  std::vector<float> src(24);
  std::iota(src.begin(), src.end(), 1.0f);
  std::vector<int64_t> shape = {2, 3, 4}, src_strides = {1, 2, 6}, dst_strides = {40, 10, 2};
  std::vector<uint16_t> dst(2 * 40 + 1, 0xABCD);
  ASSERT_TRUE(copy_convert(view(src.data(), DType::F32, shape, &src_strides),
                           view(dst.data(), DType::BF16, shape, &dst_strides, 2)));
  std::vector<bool> written(dst.size(), false);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        const int64_t at = 1 + i * 40 + j * 10 + k * 2;
        EXPECT_EQ(dst[at], bf16_of(src[i + 2 * j + 6 * k])) << i << "," << j << "," << k;
        written[at] = true;
      }
  for (size_t at = 0; at < dst.size(); ++at) {
    if (!written[at]) {
      EXPECT_EQ(dst[at], 0xABCD) << "wrote outside the view at " << at;
    }
  }
}

// Outer dimensions that merge (contiguous in both) and ones that do not, plus size-1 dimensions with
// odd strides, which carry no information.
TEST(Convert, MergesDimensionsOnlyWhereBothAreContiguous) {
  std::vector<int64_t> shape = {3, 1, 4, 5};
  std::vector<int64_t> src_strides = {20, 999, 5, 1};  // compact
  std::vector<int64_t> dst_strides = {64, -7, 8, 1};   // rows of 5 in slots of 8
  std::vector<int32_t> src(60);
  std::iota(src.begin(), src.end(), -30);
  std::vector<int64_t> dst(3 * 64, -1);
  ASSERT_TRUE(copy_convert(view(src.data(), DType::I32, shape, &src_strides),
                           view(dst.data(), DType::I64, shape, &dst_strides)));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 8; ++k) EXPECT_EQ(dst[i * 64 + j * 8 + k], k < 5 ? src[i * 20 + j * 5 + k] : -1);
}

TEST(Convert, BroadcastSourceAndNegativeStride) {
  float one = 1.5f;
  std::vector<int64_t> shape = {7}, zero = {0};
  std::vector<double> dst(7);
  ASSERT_TRUE(copy_convert(view(&one, DType::F32, shape, &zero), view(dst.data(), DType::F64, shape)));
  for (double v : dst) EXPECT_EQ(v, 1.5);

  std::vector<int8_t> src = {1, 2, 3, 4};
  std::vector<int64_t> four = {4}, reverse = {-1};
  std::vector<int16_t> out(4);
  ASSERT_TRUE(
      copy_convert(view(src.data(), DType::I8, four, &reverse, 3), view(out.data(), DType::I16, four)));
  EXPECT_EQ(out, (std::vector<int16_t>{4, 3, 2, 1}));
}

TEST(Convert, ScalarsAndEmptyTensors) {
  double pi = 3.25;
  float out = 0;
  std::vector<int64_t> scalar;
  ASSERT_TRUE(copy_convert(view(&pi, DType::F64, scalar), view(&out, DType::F32, scalar)));
  EXPECT_EQ(out, 3.25f);

  std::vector<int64_t> empty = {3, 0};
  EXPECT_TRUE(copy_convert(view(nullptr, DType::F32, empty), view(nullptr, DType::BF16, empty)));
}

TEST(Convert, IntoAndFromOwnedTensors) {
  auto a = Tensor::allocate(DType::F32, {2, 8});
  auto b = Tensor::allocate(DType::F8_E4M3, {2, 8});
  auto c = Tensor::allocate(DType::F64, {2, 8});
  ASSERT_TRUE(a && b && c);
  auto* values = static_cast<float*>(a->data());
  for (int i = 0; i < 16; ++i) values[i] = static_cast<float>(i) - 7.5f;
  ASSERT_TRUE(copy_convert(a->dl_view(), b->dl_view()));
  ASSERT_TRUE(copy_convert(b->dl_view(), c->dl_view()));
  const auto* back = static_cast<const double*>(c->data());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(back[i], static_cast<double>(values[i]));  // all exact in e4m3
}

TEST(Convert, ShapeMismatch) {
  float a[6] = {}, b[6] = {};
  std::vector<int64_t> s23 = {2, 3}, s32 = {3, 2}, s6 = {6};
  Status status = copy_convert(view(a, DType::F32, s23), view(b, DType::F32, s32));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "copy_convert: shape mismatch: source [2, 3] vs destination [3, 2]");
  status = copy_convert(view(a, DType::F32, s23), view(b, DType::F32, s6));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "copy_convert: shape mismatch: source [2, 3] vs destination [6]");
}

TEST(Convert, UnsupportedDTypesAreNamed) {
  uint8_t a[4] = {}, b[4] = {};
  std::vector<int64_t> shape = {4};
  Status status = copy_convert(view(a, DType::F8_E5M2, shape), view(b, DType::F32, shape));
  ASSERT_FALSE(status);
  EXPECT_EQ(
      status.error().message,
      "copy_convert: unsupported source dtype F8_E5M2 (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, "
      "F32, F64, F8_E4M3)");
  llmc_dl_tensor odd = view(b, DType::F32, shape);
  odd.dtype = llmc_dl_dtype{LLMC_DL_FLOAT, 32, 4};
  status = copy_convert(view(a, DType::U8, shape), odd);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("destination dtype DLPack dtype (code 2, 32 bits, 4 lanes)"),
            std::string::npos)
      << status.error().message;
}

TEST(Convert, NullDataAndBadViews) {
  float a[4] = {};
  std::vector<int64_t> shape = {4};
  Status status = copy_convert(view(nullptr, DType::F32, shape), view(a, DType::F32, shape));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "copy_convert: the source view has no data (NULL)");
  status = copy_convert(view(a, DType::F32, shape), view(nullptr, DType::BF16, shape));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "copy_convert: the destination view has no data (NULL)");

  llmc_dl_tensor no_shape = view(a, DType::F32, shape);
  no_shape.shape = nullptr;
  EXPECT_FALSE(copy_convert(no_shape, view(a, DType::F32, shape)));
  std::vector<int64_t> negative = {-4};
  EXPECT_FALSE(copy_convert(view(a, DType::F32, negative), view(a, DType::F32, negative)));
}

TEST(Convert, MisalignedDataIsAnError) {
  alignas(8) uint8_t bytes[32] = {};
  float out[4];
  std::vector<int64_t> shape = {4};
  const Status status =
      copy_convert(view(bytes, DType::F32, shape, nullptr, 2), view(out, DType::F32, shape));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("not aligned"), std::string::npos) << status.error().message;
}

TEST(Convert, MixedDevicesAreAnError) {
  float a[4] = {}, b[4] = {};
  std::vector<int64_t> shape = {4};
  const Status status =
      copy_convert(view(a, DType::F32, shape), view(b, DType::BF16, shape, nullptr, 0, cuda_device(0)));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "copy_convert: the source is on cpu and the destination on cuda:0; both must be on the CPU or on "
            "the same CUDA device");
  EXPECT_FALSE(copy_convert(view(a, DType::F32, shape, nullptr, 0, cuda_device(1)),
                            view(b, DType::BF16, shape, nullptr, 0, cuda_device(0))));
}

TEST(Convert, PinnedAndManagedHostMemoryCountAsCpu) {
  float a[2] = {1.0f, -2.0f};
  double b[2] = {};
  std::vector<int64_t> shape = {2};
  ASSERT_TRUE(copy_convert(view(a, DType::F32, shape, nullptr, 0, {LLMC_DL_CUDA_HOST, 0}),
                           view(b, DType::F64, shape)));
  EXPECT_EQ(b[1], -2.0);
}

TEST(Convert, CudaWithoutDeviceIsAnError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  float a[4] = {}, b[4] = {};
  std::vector<int64_t> shape = {4};
  const Status status = copy_convert(view(a, DType::F32, shape, nullptr, 0, cuda_device(0)),
                                     view(b, DType::F32, shape, nullptr, 0, cuda_device(0)));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("cuda:0"), std::string::npos) << status.error().message;
}

}  // namespace
}  // namespace llmc
