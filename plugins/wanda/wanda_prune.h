// plugins/wanda/wanda_prune.h - Wanda's math on ATen tensors, as LLM Compressor computes it
// (llmcompressor/modifiers/pruning/wanda/wanda_sparsify.py): per input column, the running mean over
// calibration samples of the squared L2 norm of that column's activations; then, per output row, the
// weights of smallest |W| * sqrt(S) become zero. No other weight changes.
#pragma once

#include <ATen/ATen.h>
#include <llmc/pruning.hpp>

#include <cstdint>

namespace llmc::wanda {

using MaskStructure = sdk::pruning::MaskStructure;

// The per-column statistic S: S_j = (1 / samples) * sum over all tokens of x_j^2.
struct RowScalars {
  at::Tensor values;        // [in_features] float32
  std::int64_t samples = 0; // calibration samples (sequences) accumulated so far
};

// Adds `input` ([tokens, in_features], any float dtype), the tokens of `sequences` samples, to `scalars`
// (accumulate_row_scalars: S *= n / (n + m); n += m; S += ||x_j||_2^2 / n, in float32).
void accumulate_row_scalars(RowScalars& scalars, const at::Tensor& input, std::int64_t sequences);

// `weight` ([out, in], any float dtype; not modified) pruned by the metric |W| * sqrt(S): unstructured
// zeroes, in every row, the int(in * sparsity) entries of smallest metric (a stable sort: the lower
// column first among equals); N:M zeroes, in every row, the N smallest of every M columns
// (`sparsity` unused). Returns float32; the weights kept are the input's values, exactly.
at::Tensor prune_weight(const at::Tensor& weight, const at::Tensor& row_scalars, double sparsity, MaskStructure mask);

}  // namespace llmc::wanda
