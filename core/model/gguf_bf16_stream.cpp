// core/model/gguf_bf16_stream.cpp
#include "model/gguf_bf16_stream.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "model/gguf_tensor_names.h"
#include "tensor/convert.h"
#include "tensor/dtype.h"

namespace llmc::model {
namespace {

llmc_dl_tensor view_1d(void* data, DType dtype, int64_t* numel) {
  return llmc_dl_tensor{data, {LLMC_DL_CPU, 0}, 1, to_dl(dtype), numel, nullptr, 0};
}

}  // namespace

GgufBf16Stream::GgufBf16Stream(const GgufFile& file, const GgufTensorInfo& info, int64_t permuted_heads,
                               uint32_t block_size, uint32_t type_size)
    : file_(&file), info_(&info), permuted_heads_(permuted_heads), block_size_(block_size), type_size_(type_size) {
  if (!info.shape.empty()) {
    rows_ = static_cast<uint64_t>(info.shape[0]);
    cols_ = rows_ == 0 ? 0 : info.numel() / rows_;
  }
}

Expected<GgufBf16Stream> GgufBf16Stream::create(const GgufFile& file, const GgufTensorInfo& info,
                                                int64_t permuted_heads) {
  const std::string context = fmt::format("{}: tensor '{}'", file.path().string(), info.name);
  const GgmlTypeTraits* traits = ggml_type_traits(static_cast<uint32_t>(info.type));
  if (traits == nullptr || traits->dequantize == nullptr)
    return Error{fmt::format("{}: llmc cannot dequantize its type {}", context, ggml_type_name(info.type))};
  GgufBf16Stream stream(file, info, permuted_heads, traits->block_size, traits->type_size);
  if (permuted_heads > 0) {
    if (stream.rows_ % (2 * static_cast<uint64_t>(permuted_heads)) != 0)
      return Error{fmt::format("{}: its {} rows do not split into {} heads of rotary pairs", context, stream.rows_,
                               permuted_heads)};
    if (stream.cols_ % traits->block_size != 0)
      return Error{fmt::format("{}: its rows of {} elements do not hold whole {} blocks of {}", context, stream.cols_,
                               traits->name, traits->block_size)};
  }
  return stream;
}

Status GgufBf16Stream::dequantize_range(uint64_t first, std::span<float> out) {
  const uint64_t first_block = first / block_size_;
  const uint64_t end_block = (first + out.size() + block_size_ - 1) / block_size_;
  const uint64_t lead = first - first_block * block_size_;
  const auto data = file_->data(*info_).subspan(first_block * type_size_, (end_block - first_block) * type_size_);
  if (lead == 0 && out.size() == (end_block - first_block) * block_size_) {
    if (auto status = dequantize(info_->type, data, out); !status)
      return Error{fmt::format("{}: tensor '{}': {}", file_->path().string(), info_->name, status.error().message)};
    return {};
  }
  blocks_.resize((end_block - first_block) * block_size_);
  if (auto status = dequantize(info_->type, data, blocks_); !status)
    return Error{fmt::format("{}: tensor '{}': {}", file_->path().string(), info_->name, status.error().message)};
  std::copy_n(blocks_.begin() + static_cast<ptrdiff_t>(lead), out.size(), out.begin());
  return {};
}

// Elements in Hugging Face order: row r of the result is row gguf_row_of_hf_row(r) of the file.
Status GgufBf16Stream::dequantize_hf_range(uint64_t first, std::span<float> out) {
  if (permuted_heads_ == 0) return dequantize_range(first, out);
  uint64_t done = 0;
  while (done < out.size()) {
    const uint64_t element = first + done;
    const uint64_t row = element / cols_;
    const uint64_t col = element % cols_;
    const uint64_t count = std::min<uint64_t>(cols_ - col, out.size() - done);
    const auto source_row = static_cast<uint64_t>(
        gguf_row_of_hf_row(static_cast<int64_t>(row), static_cast<int64_t>(rows_), permuted_heads_));
    LLMC_TRY(dequantize_range(source_row * cols_ + col, out.subspan(done, count)));
    done += count;
  }
  return {};
}

Status GgufBf16Stream::fill(uint64_t offset, std::span<std::byte> chunk) {
  if (offset % 2 != 0 || chunk.size() % 2 != 0 || offset + chunk.size() > nbytes())
    return Error{fmt::format("{}: tensor '{}': bf16 bytes [{}, {}) are not whole elements of its {} bytes",
                             file_->path().string(), info_->name, offset, offset + chunk.size(), nbytes())};
  const uint64_t first = offset / 2;
  values_.resize(chunk.size() / 2);
  LLMC_TRY(dequantize_hf_range(first, values_));
  int64_t count = static_cast<int64_t>(values_.size());
  return copy_convert(view_1d(values_.data(), DType::F32, &count), view_1d(chunk.data(), DType::BF16, &count));
}

}  // namespace llmc::model
