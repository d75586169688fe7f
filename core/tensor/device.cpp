// core/tensor/device.cpp
#include "tensor/device.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "tensor/format_bytes.h"

#if LLMC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace llmc {

std::string device_name(llmc_dl_device device) {
  switch (device.device_type) {
    case LLMC_DL_CPU: return "cpu";
    case LLMC_DL_CUDA: return fmt::format("cuda:{}", device.device_id);
    case LLMC_DL_CUDA_HOST: return "cuda_host";
    case LLMC_DL_CUDA_MANAGED: return fmt::format("cuda_managed:{}", device.device_id);
    default: return fmt::format("device type {}", device.device_type);
  }
}

bool is_host_accessible(llmc_dl_device device) {
  return device.device_type == LLMC_DL_CPU || device.device_type == LLMC_DL_CUDA_HOST ||
         device.device_type == LLMC_DL_CUDA_MANAGED;
}

#if LLMC_WITH_CUDA

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clears the sticky "no device" error for later calls
    return 0;
  }
  return count;
}

namespace {
Error cuda_error(std::string_view doing, cudaError_t error) {
  cudaGetLastError();
  return Error{fmt::format("{}: CUDA error: {}", doing, cudaGetErrorString(error))};
}
}  // namespace

#else

int cuda_device_count() { return 0; }

#endif

Expected<void*> allocate_zeroed(llmc_dl_device device, uint64_t bytes) {
  if (bytes == 0) return nullptr;
  if (device.device_type == LLMC_DL_CPU) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const uint64_t rounded = (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    void* data = rounded < bytes ? nullptr : std::aligned_alloc(kCpuAlignment, rounded);
    if (data == nullptr) return Error{fmt::format("out of host memory allocating {}", format_bytes(bytes))};
    std::memset(data, 0, bytes);
    return data;
  }
  if (device.device_type == LLMC_DL_CUDA) {
#if LLMC_WITH_CUDA
    int previous = 0;
    cudaGetDevice(&previous);
    const std::string doing = fmt::format("allocating {} on {}", format_bytes(bytes), device_name(device));
    if (cudaError_t error = cudaSetDevice(device.device_id); error != cudaSuccess)
      return cuda_error(doing, error);
    void* data = nullptr;
    cudaError_t error = cudaMalloc(&data, bytes);
    if (error == cudaSuccess) error = cudaMemset(data, 0, bytes);
    cudaSetDevice(previous);
    if (error != cudaSuccess) {
      cudaFree(data);
      return cuda_error(doing, error);
    }
    return data;
#else
    return Error{fmt::format("cannot allocate on {}: this llmc was built without CUDA", device_name(device))};
#endif
  }
  return Error{fmt::format("cannot allocate tensors on {}", device_name(device))};
}

void free_memory([[maybe_unused]] llmc_dl_device device, void* data) {
  if (data == nullptr) return;
#if LLMC_WITH_CUDA
  if (device.device_type == LLMC_DL_CUDA) {
    cudaFree(data);
    return;
  }
#endif
  std::free(data);
}

Status copy_bytes(void* dst, llmc_dl_device dst_device, const void* src, llmc_dl_device src_device,
                  uint64_t bytes) {
  if (bytes == 0) return Status::ok();
  if (is_host_accessible(dst_device) && is_host_accessible(src_device)) {
    std::memmove(dst, src, bytes);
    return Status::ok();
  }
#if LLMC_WITH_CUDA
  if (cudaError_t error = cudaMemcpy(dst, src, bytes, cudaMemcpyDefault); error != cudaSuccess)
    return cuda_error(fmt::format("copying {} from {} to {}", format_bytes(bytes), device_name(src_device),
                                  device_name(dst_device)),
                      error);
  return Status::ok();
#else
  return Error{fmt::format("cannot copy from {} to {}: this llmc was built without CUDA",
                           device_name(src_device), device_name(dst_device))};
#endif
}

}  // namespace llmc
