// tests/unit/tensor/tensor_test.cpp - Tensor: allocation, alignment, zero fill, DLPack view, moves,
// budget charging.
#include "tensor/tensor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

#include "tensor/memory_budget.h"

namespace llmc {
namespace {

bool all_zero(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.data());
  for (uint64_t i = 0; i < t.nbytes(); ++i)
    if (p[i] != 0) return false;
  return true;
}

TEST(Tensor, AllocatesZeroFilledAndAligned) {
  for (auto [dtype, shape, nbytes] : {std::tuple{DType::F32, std::vector<int64_t>{3, 5}, 60u},
                                      std::tuple{DType::BF16, std::vector<int64_t>{7}, 14u},
                                      std::tuple{DType::I64, std::vector<int64_t>{2, 3, 4}, 192u},
                                      std::tuple{DType::F8_E4M3, std::vector<int64_t>{}, 1u}}) {
    auto t = Tensor::allocate(dtype, shape);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->dtype(), dtype);
    EXPECT_EQ(t->shape(), shape);
    EXPECT_EQ(t->nbytes(), nbytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % 64, 0u);
    EXPECT_TRUE(all_zero(*t));
  }
}

TEST(Tensor, NumelAndScalar) {
  auto scalar = Tensor::allocate(DType::F64, {});
  ASSERT_TRUE(scalar);
  EXPECT_EQ(scalar->numel(), 1);
  EXPECT_EQ(scalar->ndim(), 0);
  auto empty = Tensor::allocate(DType::F32, {4, 0, 3});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->numel(), 0);
  EXPECT_EQ(empty->nbytes(), 0u);
  EXPECT_EQ(empty->data(), nullptr);
}

TEST(Tensor, SubByteDTypesNeedWholeBytes) {
  auto packed = Tensor::allocate(DType::F4, {3, 4});
  ASSERT_TRUE(packed) << packed.error().message;
  EXPECT_EQ(packed->nbytes(), 6u);
  auto odd = Tensor::allocate(DType::F4, {3});
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("whole bytes"), std::string::npos) << odd.error().message;
}

TEST(Tensor, RejectsBadShapes) {
  auto negative = Tensor::allocate(DType::F32, {2, -1});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message, "cannot allocate a F32 tensor of shape [2, -1]: invalid size");
  EXPECT_FALSE(Tensor::allocate(DType::F32, {INT64_MAX, 2}));
  EXPECT_FALSE(Tensor::allocate(DType::F64, {int64_t{1} << 60}));
}

TEST(Tensor, DlViewDescribesTheTensor) {
  auto t = Tensor::allocate(DType::BF16, {4, 6});
  ASSERT_TRUE(t);
  const llmc_dl_tensor view = t->dl_view();
  EXPECT_EQ(view.data, t->data());
  EXPECT_EQ(view.device.device_type, LLMC_DL_CPU);
  EXPECT_EQ(view.device.device_id, 0);
  EXPECT_EQ(view.ndim, 2);
  EXPECT_EQ(view.dtype.code, LLMC_DL_BFLOAT);
  EXPECT_EQ(view.dtype.bits, 16);
  EXPECT_EQ(view.dtype.lanes, 1);
  EXPECT_EQ(view.shape[0], 4);
  EXPECT_EQ(view.shape[1], 6);
  EXPECT_EQ(view.strides, nullptr);
  EXPECT_EQ(view.byte_offset, 0u);
}

TEST(Tensor, DlViewSurvivesMoves) {
  auto t = Tensor::allocate(DType::F32, {2, 3, 4});
  ASSERT_TRUE(t);
  const llmc_dl_tensor before = t->dl_view();
  Tensor moved = std::move(*t);
  EXPECT_EQ(moved.dl_view().shape, before.shape);
  EXPECT_EQ(moved.data(), before.data);
  EXPECT_EQ(t->data(), nullptr);
  auto other = Tensor::allocate(DType::I8, {5});
  ASSERT_TRUE(other);
  *other = std::move(moved);
  EXPECT_EQ(other->dl_view().shape, before.shape);
  EXPECT_EQ(before.shape[2], 4);
  EXPECT_EQ(other->dtype(), DType::F32);
  EXPECT_EQ(other->numel(), 24);
}

TEST(Tensor, ChargesAndReleasesTheBudget) {
  MemoryBudget budget(1000);
  {
    auto a = Tensor::allocate(DType::F32, {100}, kCpu, &budget);
    ASSERT_TRUE(a);
    EXPECT_EQ(budget.in_use(), 400u);
    auto b = Tensor::allocate(DType::F64, {75}, kCpu, &budget);
    ASSERT_TRUE(b);
    EXPECT_EQ(budget.in_use(), 1000u);
    auto c = Tensor::allocate(DType::U8, {1}, kCpu, &budget);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "memory budget of 1000 B exceeded: allocating 'U8 [1] on cpu' (1 B) with 1000 B in use; "
              "raise --memory-budget");
    Tensor moved = std::move(*a);  // the charge moves with the memory
    EXPECT_EQ(budget.in_use(), 1000u);
    *b = std::move(moved);  // b's 600 bytes are freed
    EXPECT_EQ(budget.in_use(), 400u);
  }
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_EQ(budget.peak(), 1000u);
}

TEST(Tensor, CudaWithoutDeviceIsAnError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  MemoryBudget budget;
  auto t = Tensor::allocate(DType::F32, {4}, cuda_device(0), &budget);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("cuda:0"), std::string::npos) << t.error().message;
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(Tensor, CudaAllocatesZeroFilled) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  auto t = Tensor::allocate(DType::F32, {1000}, cuda_device(0));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->device().device_type, LLMC_DL_CUDA);
  std::vector<float> host(1000, 1.0f);
  ASSERT_TRUE(copy_bytes(host.data(), kCpu, t->data(), t->device(), t->nbytes()));
  for (float v : host) ASSERT_EQ(v, 0.0f);
}

TEST(Tensor, UnsupportedDevice) {
  auto t = Tensor::allocate(DType::F32, {4}, llmc_dl_device{7, 0});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "cannot allocate tensors on device type 7");
}

}  // namespace
}  // namespace llmc
