// core/tensor/convert_job.h - a validated copy_convert as the CPU loops and the CUDA kernels take it,
// and the dispatch from a runtime DType to its storage type. Internal to the tensor subsystem; C++17,
// as nvcc compiles it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/element_cast.h"
#include "util/expected.h"

namespace llmc {

struct ConvertJob {
  DType src_dtype;
  DType dst_dtype;
  const std::byte* src;  // byte_offset applied
  std::byte* dst;
  int32_t cuda_device;  // the CUDA ordinal, or -1 for host memory
  // Dimensions of size 1 dropped and mergeable neighbours merged, outermost first; at least one.
  std::vector<int64_t> shape;
  std::vector<int64_t> src_strides;  // in elements
  std::vector<int64_t> dst_strides;
  int64_t numel;

  bool compact() const { return shape.size() == 1 && src_strides[0] == 1 && dst_strides[0] == 1; }
};

/// Calls `f(TypeTag<T>{})` with T the storage type of `dtype`; false (and no call) for a
/// dtype copy_convert does not support.
template <class T>
struct TypeTag {
  using type = T;
};

template <class F>
bool visit_element_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::BOOL: f(TypeTag<element::Bool>{}); return true;
    case DType::U8: f(TypeTag<uint8_t>{}); return true;
    case DType::I8: f(TypeTag<int8_t>{}); return true;
    case DType::I16: f(TypeTag<int16_t>{}); return true;
    case DType::I32: f(TypeTag<int32_t>{}); return true;
    case DType::I64: f(TypeTag<int64_t>{}); return true;
    case DType::F16: f(TypeTag<element::F16>{}); return true;
    case DType::BF16: f(TypeTag<element::BF16>{}); return true;
    case DType::F32: f(TypeTag<float>{}); return true;
    case DType::F64: f(TypeTag<double>{}); return true;
    case DType::F8_E4M3: f(TypeTag<element::F8E4M3>{}); return true;
    default: return false;
  }
}

#if LLMC_WITH_CUDA
/// The CUDA half of copy_convert: both ends on job.cuda_device.
Status copy_convert_cuda(const ConvertJob& job);
#endif

}  // namespace llmc
