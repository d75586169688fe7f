// core/model/gguf_bf16_stream.h - one GGUF tensor produced chunk by chunk as the bf16 bytes of its Hugging
// Face counterpart: blocks dequantized to float32 on demand (bit-exactly as the gguf Python package), rows
// put back in Hugging Face order, then rounded to bf16 as torch's `.to(torch.bfloat16)` does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "model/gguf_file.h"
#include "util/expected.h"

namespace llmc::model {

class GgufBf16Stream {
 public:
  /// `permuted_heads` as HfTensorTarget::permuted_heads. Errors name the file and the tensor: a type llmc
  /// cannot dequantize, rows that do not split into whole blocks or into the permuted heads.
  static Expected<GgufBf16Stream> create(const GgufFile& file, const GgufTensorInfo& info, int64_t permuted_heads);

  /// Bytes of the bf16 tensor.
  uint64_t nbytes() const { return info_->numel() * 2; }

  /// Fills `chunk` with the bf16 bytes [offset, offset + chunk.size()); offset and size must be even.
  /// Memory: float32 scratch for the chunk's elements (plus one block at each end).
  Status fill(uint64_t offset, std::span<std::byte> chunk);

 private:
  GgufBf16Stream(const GgufFile& file, const GgufTensorInfo& info, int64_t permuted_heads, uint32_t block_size,
                 uint32_t type_size);
  // Dequantizes elements [first, first + out.size()) of the file's (GGUF-order) data.
  Status dequantize_range(uint64_t first, std::span<float> out);
  Status dequantize_hf_range(uint64_t first, std::span<float> out);

  const GgufFile* file_;
  const GgufTensorInfo* info_;
  int64_t permuted_heads_;
  uint32_t block_size_;
  uint32_t type_size_;
  uint64_t rows_ = 1;  // shape[0]; rows of `cols_` elements
  uint64_t cols_ = 1;
  std::vector<float> values_;   // the chunk's elements
  std::vector<float> blocks_;   // whole blocks around a range
};

}  // namespace llmc::model
