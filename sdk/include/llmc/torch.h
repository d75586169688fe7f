// llmc/torch.h - optional, header-only bridge for plugins that do their math with LibTorch: llmc's
// DLPack views as at::Tensor views and back, without copying.
//
// Nothing of torch crosses the C ABI: a plugin turns the views it receives into at::Tensors for the
// duration of the callback and hands views (or copies through llmc_host_api.tensor_set) back. A plugin
// that includes this header links LibTorch and must be built against the host's torch version: put
// LLMC_TORCH_VERSION in its descriptor's `torch_version`, which the loader checks.
//
// Errors throw c10::Error (TORCH_CHECK), as the rest of ATen does: catch them before returning to the
// host, since no exception may cross the ABI.
#ifndef LLMC_TORCH_H
#define LLMC_TORCH_H

#include <ATen/ATen.h>

#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#else
#include <torch/version.h>
#endif

#include <cstdint>
#include <vector>

#include "llmc/plugin.h"

/// The LibTorch version this plugin compiles against, e.g. "2.14.0", for
/// llmc_plugin_descriptor.torch_version.
#define LLMC_TORCH_VERSION TORCH_VERSION

namespace llmc::torch_bridge {

/// The torch element type of a DLPack dtype; throws for lanes != 1 or a dtype torch lacks. 4-bit floats
/// are unsupported: torch stores them as float4_e2m1fn_x2, two per element, which changes the shape.
inline at::ScalarType scalar_type(llmc_dl_dtype dtype) {
  TORCH_CHECK(dtype.lanes == 1, "llmc: vector dtypes (lanes ", dtype.lanes, ") have no torch type");
  switch (dtype.code) {
    case LLMC_DL_BOOL:
      if (dtype.bits == 8) return at::kBool;
      break;
    case LLMC_DL_INT:
      switch (dtype.bits) {
        case 8: return at::kChar;
        case 16: return at::kShort;
        case 32: return at::kInt;
        case 64: return at::kLong;
      }
      break;
    case LLMC_DL_UINT:
      switch (dtype.bits) {
        case 8: return at::kByte;
        case 16: return at::kUInt16;
        case 32: return at::kUInt32;
        case 64: return at::kUInt64;
      }
      break;
    case LLMC_DL_FLOAT:
      switch (dtype.bits) {
        case 16: return at::kHalf;
        case 32: return at::kFloat;
        case 64: return at::kDouble;
      }
      break;
    case LLMC_DL_BFLOAT:
      if (dtype.bits == 16) return at::kBFloat16;
      break;
    case LLMC_DL_FLOAT8_E4M3FN:
      if (dtype.bits == 8) return at::kFloat8_e4m3fn;
      break;
    case LLMC_DL_FLOAT8_E5M2:
      if (dtype.bits == 8) return at::kFloat8_e5m2;
      break;
    case LLMC_DL_FLOAT8_E8M0FNU:
      if (dtype.bits == 8) return at::kFloat8_e8m0fnu;
      break;
  }
  TORCH_CHECK(false, "llmc: DLPack dtype (code ", int{dtype.code}, ", ", int{dtype.bits},
              " bits) has no torch equivalent");
}

/// The DLPack dtype of a torch element type; throws for types without one (complex, quantized, ...).
inline llmc_dl_dtype dl_dtype(at::ScalarType type) {
  switch (type) {
    case at::kBool: return {LLMC_DL_BOOL, 8, 1};
    case at::kChar: return {LLMC_DL_INT, 8, 1};
    case at::kShort: return {LLMC_DL_INT, 16, 1};
    case at::kInt: return {LLMC_DL_INT, 32, 1};
    case at::kLong: return {LLMC_DL_INT, 64, 1};
    case at::kByte: return {LLMC_DL_UINT, 8, 1};
    case at::kUInt16: return {LLMC_DL_UINT, 16, 1};
    case at::kUInt32: return {LLMC_DL_UINT, 32, 1};
    case at::kUInt64: return {LLMC_DL_UINT, 64, 1};
    case at::kHalf: return {LLMC_DL_FLOAT, 16, 1};
    case at::kFloat: return {LLMC_DL_FLOAT, 32, 1};
    case at::kDouble: return {LLMC_DL_FLOAT, 64, 1};
    case at::kBFloat16: return {LLMC_DL_BFLOAT, 16, 1};
    case at::kFloat8_e4m3fn: return {LLMC_DL_FLOAT8_E4M3FN, 8, 1};
    case at::kFloat8_e5m2: return {LLMC_DL_FLOAT8_E5M2, 8, 1};
    case at::kFloat8_e8m0fnu: return {LLMC_DL_FLOAT8_E8M0FNU, 8, 1};
    default: TORCH_CHECK(false, "llmc: torch dtype ", type, " has no llmc DLPack dtype");
  }
}

/// A zero-copy at::Tensor over `view` (CPU, pinned host memory or CUDA): writes through it land in the
/// viewed memory. It does not own the memory: use it only while the view is valid (the callback).
inline at::Tensor as_tensor(const llmc_dl_tensor& view) {
  TORCH_CHECK(view.ndim >= 0 && (view.ndim == 0 || view.shape != nullptr), "llmc: malformed DLPack view");
  at::Device device(at::kCPU);
  switch (view.device.device_type) {
    case LLMC_DL_CPU:
    case LLMC_DL_CUDA_HOST: break;
    case LLMC_DL_CUDA:
    case LLMC_DL_CUDA_MANAGED:
      device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(view.device.device_id));
      break;
    default: TORCH_CHECK(false, "llmc: DLPack device type ", view.device.device_type, " has no torch device");
  }
  const at::IntArrayRef sizes(view.shape, static_cast<size_t>(view.ndim));
  const auto options = at::TensorOptions().dtype(scalar_type(view.dtype)).device(device);
  void* data = static_cast<char*>(view.data) + view.byte_offset;
  if (view.strides == nullptr) return at::from_blob(data, sizes, options);
  return at::from_blob(data, sizes, at::IntArrayRef(view.strides, static_cast<size_t>(view.ndim)), options);
}

/// A DLPack view of `tensor` (no copy), valid while `tensor` lives and `shape_storage`/`stride_storage`
/// (filled here; the view points into them) are neither destroyed nor resized.
inline llmc_dl_tensor as_view(const at::Tensor& tensor, std::vector<int64_t>& shape_storage,
                              std::vector<int64_t>& stride_storage) {
  llmc_dl_device device{LLMC_DL_CPU, 0};
  if (tensor.is_cuda()) {
    device = {LLMC_DL_CUDA, tensor.device().index()};
  } else {
    TORCH_CHECK(tensor.is_cpu(), "llmc: tensors on ", tensor.device(), " have no llmc DLPack device");
  }
  shape_storage.assign(tensor.sizes().begin(), tensor.sizes().end());
  stride_storage.assign(tensor.strides().begin(), tensor.strides().end());
  return llmc_dl_tensor{
      tensor.data_ptr(),  // already past the storage offset
      device,
      static_cast<int32_t>(tensor.dim()),
      dl_dtype(tensor.scalar_type()),
      shape_storage.data(),
      stride_storage.data(),
      0,
  };
}

}  // namespace llmc::torch_bridge

#endif  // LLMC_TORCH_H
