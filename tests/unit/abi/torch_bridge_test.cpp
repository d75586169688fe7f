// tests/unit/abi/torch_bridge_test.cpp - llmc/torch.h: zero-copy views both ways, dtype mapping
// against torch's own DLPack converter, byte_offset, strides, and torch's DLPack capsules read as ours.
#include <ATen/DLConvertor.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "llmc/torch.h"

namespace llmc {
namespace {

using torch_bridge::as_tensor;
using torch_bridge::as_view;

llmc_dl_tensor cpu_view(void* data, llmc_dl_dtype dtype, std::vector<int64_t>& shape,
                        std::vector<int64_t>* strides = nullptr, uint64_t byte_offset = 0) {
  return llmc_dl_tensor{data,       {LLMC_DL_CPU, 0}, static_cast<int32_t>(shape.size()),
                        dtype,      shape.data(),     strides != nullptr ? strides->data() : nullptr,
                        byte_offset};
}

TEST(TorchBridge, ViewIsZeroCopyAndWritable) {
  std::vector<float> buffer(12);
  for (int i = 0; i < 12; ++i) buffer[i] = static_cast<float>(i);
  std::vector<int64_t> shape = {3, 4};
  at::Tensor t = as_tensor(cpu_view(buffer.data(), {LLMC_DL_FLOAT, 32, 1}, shape));
  EXPECT_EQ(t.data_ptr(), buffer.data());
  EXPECT_EQ(t.sizes(), at::IntArrayRef({3, 4}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_EQ(t[2][1].item<float>(), 9.0f);
  t.mul_(2);
  EXPECT_EQ(buffer[11], 22.0f);
  t[0][0] = -1.0f;
  EXPECT_EQ(buffer[0], -1.0f);
}

TEST(TorchBridge, HonoursStridesAndByteOffset) {
  std::vector<int32_t> buffer(20);
  for (int i = 0; i < 20; ++i) buffer[i] = i;
  // a [4, 3] column-major view starting at element 2 (byte_offset 8)
  std::vector<int64_t> shape = {4, 3}, strides = {1, 4};
  at::Tensor t = as_tensor(cpu_view(buffer.data(), {LLMC_DL_INT, 32, 1}, shape, &strides, 8));
  EXPECT_EQ(t.data_ptr(), buffer.data() + 2);
  EXPECT_EQ(t.strides(), at::IntArrayRef({1, 4}));
  EXPECT_EQ(t[1][2].item<int32_t>(), 2 + 1 + 8);
  t.fill_(-5);
  EXPECT_EQ(buffer[1], 1);    // before the view
  EXPECT_EQ(buffer[2], -5);   // its first element
  EXPECT_EQ(buffer[13], -5);  // its last: 2 + 3 + 2 * 4
  EXPECT_EQ(buffer[14], 14);
}

TEST(TorchBridge, ScalarView) {
  double value = 2.5;
  std::vector<int64_t> shape;
  at::Tensor t = as_tensor(cpu_view(&value, {LLMC_DL_FLOAT, 64, 1}, shape));
  EXPECT_EQ(t.dim(), 0);
  EXPECT_EQ(t.item<double>(), 2.5);
}

TEST(TorchBridge, DTypesMatchTorchsOwnDlpackConverter) {
  for (at::ScalarType type : {at::kBool, at::kByte, at::kChar, at::kShort, at::kInt, at::kLong, at::kUInt16,
                              at::kUInt32, at::kUInt64, at::kHalf, at::kBFloat16, at::kFloat, at::kDouble,
                              at::kFloat8_e4m3fn, at::kFloat8_e5m2, at::kFloat8_e8m0fnu}) {
    SCOPED_TRACE(c10::toString(type));
    const DLDataType theirs = at::getDLDataType(at::empty({1}, at::TensorOptions().dtype(type)));
    const llmc_dl_dtype ours = torch_bridge::dl_dtype(type);
    EXPECT_EQ(ours.code, theirs.code);
    EXPECT_EQ(ours.bits, theirs.bits);
    EXPECT_EQ(ours.lanes, theirs.lanes);
    EXPECT_EQ(torch_bridge::scalar_type(ours), type);
  }
}

TEST(TorchBridge, Bf16Fp8AndInt8ViewsReadTheRightValues) {
  uint16_t bf16[2] = {0x3FC0, 0xC040};  // 1.5, -3.0
  uint8_t fp8[2] = {0x38, 0xC4};        // e4m3fn: 1.0 and -3.0 (sign, exponent 8 = 2^1, mantissa .5)
  int8_t i8[2] = {-7, 100};
  std::vector<int64_t> shape = {2};
  at::Tensor a = as_tensor(cpu_view(bf16, {LLMC_DL_BFLOAT, 16, 1}, shape));
  at::Tensor b = as_tensor(cpu_view(fp8, {LLMC_DL_FLOAT8_E4M3FN, 8, 1}, shape));
  at::Tensor c = as_tensor(cpu_view(i8, {LLMC_DL_INT, 8, 1}, shape));
  EXPECT_EQ(a.scalar_type(), at::kBFloat16);
  EXPECT_EQ(b.scalar_type(), at::kFloat8_e4m3fn);
  EXPECT_EQ(c.scalar_type(), at::kChar);
  EXPECT_TRUE(at::equal(a.to(at::kFloat), at::tensor({1.5f, -3.0f})));
  EXPECT_TRUE(at::equal(b.to(at::kFloat), at::tensor({1.0f, -3.0f})));
  EXPECT_TRUE(at::equal(c.to(at::kLong), at::tensor({int64_t{-7}, int64_t{100}})));
}

TEST(TorchBridge, UnsupportedDTypesAndDevicesThrow) {
  uint8_t bytes[4] = {};
  std::vector<int64_t> shape = {4};
  EXPECT_THROW(as_tensor(cpu_view(bytes, {LLMC_DL_FLOAT4_E2M1FN, 4, 1}, shape)), c10::Error);
  EXPECT_THROW(as_tensor(cpu_view(bytes, {LLMC_DL_FLOAT, 32, 4}, shape)), c10::Error);
  llmc_dl_tensor odd = cpu_view(bytes, {LLMC_DL_UINT, 8, 1}, shape);
  odd.device.device_type = 7;
  EXPECT_THROW(as_tensor(odd), c10::Error);
  EXPECT_THROW(torch_bridge::dl_dtype(at::kComplexFloat), c10::Error);
}

TEST(TorchBridge, TensorToViewAndBack) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  at::Tensor slice = base.slice(1, 2, 5).t();  // [3, 4], strides {1, 6}, storage offset 2
  std::vector<int64_t> shape, strides;
  const llmc_dl_tensor view = as_view(slice, shape, strides);
  EXPECT_EQ(view.data, slice.data_ptr());
  EXPECT_EQ(static_cast<float*>(view.data), base.data_ptr<float>() + 2);
  EXPECT_EQ(view.ndim, 2);
  EXPECT_EQ(view.shape[0], 3);
  EXPECT_EQ(view.shape[1], 4);
  EXPECT_EQ(view.strides[0], 1);
  EXPECT_EQ(view.strides[1], 6);
  EXPECT_EQ(view.byte_offset, 0u);
  EXPECT_EQ(view.device.device_type, LLMC_DL_CPU);
  EXPECT_EQ(view.dtype.code, LLMC_DL_FLOAT);

  at::Tensor again = as_tensor(view);
  EXPECT_EQ(again.data_ptr(), slice.data_ptr());
  EXPECT_TRUE(at::equal(again, slice));
  again.zero_();
  EXPECT_EQ(base[1][3].item<float>(), 0.0f);
  EXPECT_EQ(base[1][5].item<float>(), 11.0f);
}

TEST(TorchBridge, TorchDlpackCapsuleReadsAsOurManagedTensor) {
  at::Tensor t = at::arange(10, at::kBFloat16);
  DLManagedTensorVersioned* capsule = at::toDLPackVersioned(t);
  auto* ours = reinterpret_cast<llmc_dl_managed_tensor*>(capsule);
  EXPECT_EQ(ours->version.major, 1u);
  EXPECT_EQ(ours->dl_tensor.dtype.code, LLMC_DL_BFLOAT);
  at::Tensor view = as_tensor(ours->dl_tensor);
  EXPECT_EQ(view.data_ptr(), t.data_ptr());
  EXPECT_TRUE(at::equal(view, t));
  ours->deleter(ours);
}

TEST(TorchBridge, VersionString) {
  const std::string version = LLMC_TORCH_VERSION;
  EXPECT_EQ(
      version.rfind(std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + ".", 0),
      0u)
      << version;
}

TEST(TorchBridge, CudaViewsStayOnTheDevice) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  at::Tensor t = at::arange(8, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA));
  std::vector<int64_t> shape, strides;
  const llmc_dl_tensor view = as_view(t, shape, strides);
  EXPECT_EQ(view.device.device_type, LLMC_DL_CUDA);
  at::Tensor again = as_tensor(view);
  EXPECT_TRUE(again.is_cuda());
  EXPECT_EQ(again.data_ptr(), t.data_ptr());
}

}  // namespace
}  // namespace llmc
