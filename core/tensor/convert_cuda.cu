// core/tensor/convert_cuda.cu - the CUDA kernels of copy_convert: the same element::cast as the CPU
// loops, one thread per element, on the legacy default stream, synchronous. C++17 (what CMake 3.25
// gives nvcc 13) and no fmt (nvcc 13 rejects fmt 9's constexpr format checks).
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "tensor/convert_job.h"

namespace llmc {
namespace {

constexpr int kMaxDims = 8;  // after merging; more separate strides than this is an error

struct Layout {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t src_strides[kMaxDims];
  int64_t dst_strides[kMaxDims];
};

template <class S, class D>
__global__ void convert_compact_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = element::cast<D>(src[i]);
}

template <class S, class D>
__global__ void convert_strided_kernel(const S* src, D* dst, int64_t n, Layout layout) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rest = i, src_offset = 0, dst_offset = 0;
    for (int dim = layout.ndim - 1; dim >= 0; --dim) {
      const int64_t index = rest % layout.shape[dim];
      rest /= layout.shape[dim];
      src_offset += index * layout.src_strides[dim];
      dst_offset += index * layout.dst_strides[dim];
    }
    dst[dst_offset] = element::cast<D>(src[src_offset]);
  }
}

Error cuda_error(const ConvertJob& job, cudaError_t error) {
  cudaGetLastError();
  return Error{"copy_convert " + std::string(name(job.src_dtype)) + " -> " +
               std::string(name(job.dst_dtype)) + " on cuda:" + std::to_string(job.cuda_device) +
               ": CUDA error: " + cudaGetErrorString(error)};
}

}  // namespace

Status copy_convert_cuda(const ConvertJob& job) {
  Layout layout{};
  layout.ndim = static_cast<int>(job.shape.size());
  if (layout.ndim > kMaxDims)
    return Error{"copy_convert on CUDA: the views need " + std::to_string(layout.ndim) +
                 " separate dimensions (at most " + std::to_string(kMaxDims) + ")"};
  for (int dim = 0; dim < layout.ndim; ++dim) {
    layout.shape[dim] = job.shape[dim];
    layout.src_strides[dim] = job.src_strides[dim];
    layout.dst_strides[dim] = job.dst_strides[dim];
  }
  int previous = 0;
  cudaGetDevice(&previous);
  if (cudaError_t error = cudaSetDevice(job.cuda_device); error != cudaSuccess) return cuda_error(job, error);

  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((job.numel + kThreads - 1) / kThreads, int64_t{1} << 20);
  visit_element_type(job.src_dtype, [&](auto src_tag) {
    visit_element_type(job.dst_dtype, [&](auto dst_tag) {
      using S = typename decltype(src_tag)::type;
      using D = typename decltype(dst_tag)::type;
      const auto* src = reinterpret_cast<const S*>(job.src);
      auto* dst = reinterpret_cast<D*>(job.dst);
      if (job.compact())
        convert_compact_kernel<S, D><<<blocks, kThreads>>>(src, dst, job.numel);
      else
        convert_strided_kernel<S, D><<<blocks, kThreads>>>(src, dst, job.numel, layout);
    });
  });
  cudaError_t error = cudaGetLastError();
  if (error == cudaSuccess) error = cudaStreamSynchronize(nullptr);
  cudaSetDevice(previous);
  if (error != cudaSuccess) return cuda_error(job, error);
  return Status::ok();
}

}  // namespace llmc
