// core/tensor/convert.cpp - validation, dimension merging and the CPU loops of copy_convert.
#include "tensor/convert.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "tensor/convert_job.h"
#include "tensor/device.h"

namespace llmc {
namespace {

constexpr const char* kSupported = "BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64, F8_E4M3";

std::string describe(llmc_dl_dtype dtype) {
  if (auto known = dtype_from_dl(dtype)) return std::string(name(*known));
  return fmt::format("DLPack dtype (code {}, {} bits, {} lanes)", dtype.code, dtype.bits, dtype.lanes);
}

std::string shape_string(const llmc_dl_tensor& t) {
  if (t.ndim <= 0 || t.shape == nullptr) return "[]";
  return fmt::format("[{}]", fmt::join(t.shape, t.shape + t.ndim, ", "));
}

Expected<DType> element_type(const llmc_dl_tensor& t, const char* role) {
  const auto dtype = dtype_from_dl(t.dtype);
  if (!dtype || !visit_element_type(*dtype, [](auto) {}))
    return Error{fmt::format("copy_convert: unsupported {} dtype {} (supported: {})", role, describe(t.dtype),
                             kSupported)};
  return *dtype;
}

Status check_view(const llmc_dl_tensor& t, const char* role) {
  if (t.ndim < 0 || (t.ndim > 0 && t.shape == nullptr))
    return Error{fmt::format("copy_convert: the {} view has ndim {} and {} shape", role, t.ndim,
                             t.shape == nullptr ? "no" : "a")};
  for (int32_t i = 0; i < t.ndim; ++i)
    if (t.shape[i] < 0)
      return Error{fmt::format("copy_convert: the {} shape {} has a negative size", role, shape_string(t))};
  return Status::ok();
}

/// Strides in elements: the view's, or compact row-major ones.
std::vector<int64_t> strides_of(const llmc_dl_tensor& t) {
  std::vector<int64_t> strides(static_cast<size_t>(t.ndim));
  if (t.strides != nullptr) {
    strides.assign(t.strides, t.strides + t.ndim);
    return strides;
  }
  int64_t stride = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= t.shape[i];
  }
  return strides;
}

/// Fills job.shape and the strides: size-1 dimensions dropped, then each dimension folded into its
/// inner neighbour when both tensors step over it contiguously.
void merge_dimensions(const llmc_dl_tensor& src, const llmc_dl_tensor& dst, ConvertJob& job) {
  const auto src_strides = strides_of(src);
  const auto dst_strides = strides_of(dst);
  std::vector<int64_t> shape, ss, ds;  // innermost first while building
  for (int32_t i = src.ndim - 1; i >= 0; --i) {
    const int64_t size = src.shape[i];
    if (size == 1) continue;
    if (!shape.empty() && ss.back() * shape.back() == src_strides[i] &&
        ds.back() * shape.back() == dst_strides[i]) {
      shape.back() *= size;
      continue;
    }
    shape.push_back(size);
    ss.push_back(src_strides[i]);
    ds.push_back(dst_strides[i]);
  }
  if (shape.empty()) {  // a scalar, or all sizes 1
    shape.push_back(1);
    ss.push_back(1);
    ds.push_back(1);
  }
  job.shape.assign(shape.rbegin(), shape.rend());
  job.src_strides.assign(ss.rbegin(), ss.rend());
  job.dst_strides.assign(ds.rbegin(), ds.rend());
}

// An AVX2 (x86-64-v3) clone where the CPU has one, picked at load time: the f16 and f8 roundings are
// compute bound in the SSE2 baseline (f32 -> f16 1.6x, f32 -> f8 1.8x faster measured).
#if defined(__x86_64__) && defined(__linux__)
#define LLMC_AVX2_CLONE __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LLMC_AVX2_CLONE
#endif

template <class S, class D, class Cast>
LLMC_AVX2_CLONE void convert_compact(const S* __restrict src, D* __restrict dst, int64_t n,
                                     const Cast& cast) {
  // The inner loop's constant trip count lets GCC's -O2 cost model ("very cheap") vectorize it.
  constexpr int64_t kBlock = 32;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock)
    for (int64_t j = 0; j < kBlock; ++j) dst[i + j] = cast(src[i + j]);
  for (; i < n; ++i) dst[i] = cast(src[i]);
}

/// One-byte sources (bool, int8, uint8, f8) convert through a 256-entry table of their results: a
/// table read beats f8's bit manipulation, which has no vector form on x86.
template <class S, class D>
struct ByteTable {
  D values[256];
  ByteTable() {
    for (int i = 0; i < 256; ++i) {
      S s;
      const auto byte = static_cast<uint8_t>(i);
      std::memcpy(&s, &byte, 1);
      values[i] = element::cast<D>(s);
    }
  }
  D operator()(S s) const {
    uint8_t byte;
    std::memcpy(&byte, &s, 1);
    return values[byte];
  }
};

template <class S, class D, class Cast>
void convert_row(const S* src, int64_t src_stride, D* dst, int64_t dst_stride, int64_t n, const Cast& cast) {
  if (src_stride == 1 && dst_stride == 1) return convert_compact(src, dst, n, cast);
  for (int64_t i = 0; i < n; ++i) dst[i * dst_stride] = cast(src[i * src_stride]);
}

template <class S, class D, class Cast>
void convert_cpu(const ConvertJob& job, const Cast& cast) {
  const auto* src = reinterpret_cast<const S*>(job.src);
  auto* dst = reinterpret_cast<D*>(job.dst);
  const size_t inner = job.shape.size() - 1;
  const int64_t n = job.shape[inner];
  std::vector<int64_t> index(inner, 0);  // an odometer over the outer dimensions
  for (;;) {
    convert_row(src, job.src_strides[inner], dst, job.dst_strides[inner], n, cast);
    size_t dim = inner;
    for (;;) {
      if (dim == 0) return;
      --dim;
      src += job.src_strides[dim];
      dst += job.dst_strides[dim];
      if (++index[dim] < job.shape[dim]) break;
      src -= job.src_strides[dim] * job.shape[dim];
      dst -= job.dst_strides[dim] * job.shape[dim];
      index[dim] = 0;
    }
  }
}

}  // namespace

Status copy_convert(const llmc_dl_tensor& src, const llmc_dl_tensor& dst) {
  LLMC_TRY(check_view(src, "source"));
  LLMC_TRY(check_view(dst, "destination"));
  const bool same_shape =
      src.ndim == dst.ndim && std::equal(src.shape, src.shape + src.ndim, dst.shape, dst.shape + dst.ndim);
  if (!same_shape)
    return Error{fmt::format("copy_convert: shape mismatch: source {} vs destination {}", shape_string(src),
                             shape_string(dst))};
  auto src_dtype = element_type(src, "source");
  if (!src_dtype) return src_dtype.error();
  auto dst_dtype = element_type(dst, "destination");
  if (!dst_dtype) return dst_dtype.error();

  int64_t numel = 1;
  for (int32_t i = 0; i < src.ndim; ++i) numel *= src.shape[i];
  if (numel == 0) return Status::ok();
  if (src.data == nullptr) return Error{"copy_convert: the source view has no data (NULL)"};
  if (dst.data == nullptr) return Error{"copy_convert: the destination view has no data (NULL)"};

  ConvertJob job{
      .src_dtype = *src_dtype,
      .dst_dtype = *dst_dtype,
      .src = static_cast<const std::byte*>(src.data) + src.byte_offset,
      .dst = static_cast<std::byte*>(dst.data) + dst.byte_offset,
      .cuda_device = -1,
      .shape = {},
      .src_strides = {},
      .dst_strides = {},
      .numel = numel,
  };
  const auto misaligned = [](const std::byte* p, DType dtype) {
    return reinterpret_cast<uintptr_t>(p) % (traits(dtype).bits / 8) != 0;
  };
  if (misaligned(job.src, job.src_dtype) || misaligned(job.dst, job.dst_dtype))
    return Error{fmt::format("copy_convert: data (with byte_offset) not aligned to the element size ({} -> {})",
                             name(job.src_dtype), name(job.dst_dtype))};
  merge_dimensions(src, dst, job);

  if (src.device.device_type == LLMC_DL_CUDA && dst.device.device_type == LLMC_DL_CUDA &&
      src.device.device_id == dst.device.device_id) {
#if LLMC_WITH_CUDA
    job.cuda_device = src.device.device_id;
    return copy_convert_cuda(job);
#else
    return Error{
        fmt::format("copy_convert on {}: this llmc was built without CUDA", device_name(src.device))};
#endif
  }
  if (!is_host_accessible(src.device) || !is_host_accessible(dst.device))
    return Error{
        fmt::format("copy_convert: the source is on {} and the destination on {}; both must be on "
                    "the CPU or on the same CUDA device",
                    device_name(src.device), device_name(dst.device))};

  visit_element_type(job.src_dtype, [&]<class S>(TypeTag<S>) {
    visit_element_type(job.dst_dtype, [&]<class D>(TypeTag<D>) {
      if constexpr (sizeof(S) == 1 && !std::is_same_v<S, D>)
        convert_cpu<S, D>(job, ByteTable<S, D>());
      else
        convert_cpu<S, D>(job, [](S s) { return element::cast<D>(s); });
    });
  });
  return Status::ok();
}

}  // namespace llmc
