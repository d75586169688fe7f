// core/model/gguf_tensor_names.h - GGUF tensor names (llama.cpp's "blk.N.attn_q.weight") as Hugging Face
// names ("model.layers.N.self_attn.q_proj.weight"), and the row order llama.cpp's converter changed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf_config.h"
#include "util/expected.h"

namespace llmc::model {

/// Where a GGUF tensor goes in the Hugging Face checkpoint.
struct HfTensorTarget {
  std::string name;
  std::vector<int64_t> shape;  // torch order, as the Hugging Face class allocates it for the config
  /// 0: rows as in the file. Otherwise the number of heads whose rows llama.cpp's convert_hf_to_gguf.py
  /// permuted (attn_q: the attention heads, attn_k: the key/value heads; weights and biases alike) so that
  /// each head's rotary pairs sit side by side; the import restores the Hugging Face order.
  int64_t permuted_heads = 0;
};

/// The target of GGUF tensor `gguf_name`. An error names `file` and the tensor when it has no counterpart
/// in the architecture (e.g. a layer index past block_count, or a tensor of another architecture).
Expected<HfTensorTarget> hf_tensor_target(const std::filesystem::path& file, std::string_view gguf_name,
                                          const GgufModelConfig& config);

/// Every tensor the architecture's Hugging Face class loads for `config`, in layer order.
std::vector<std::string> expected_hf_tensor_names(const GgufModelConfig& config);

/// The row of the GGUF tensor that holds row `hf_row` of the Hugging Face tensor, for a tensor of `rows`
/// rows permuted over `heads` heads (rows must be a multiple of 2 * heads). llama.cpp stores each head's
/// rows as (pair, half) where Hugging Face stores them as (half, pair).
int64_t gguf_row_of_hf_row(int64_t hf_row, int64_t rows, int64_t heads);

}  // namespace llmc::model
