// plugins/sparsegpt/sparsify.h - SparseGPT's math on ATen tensors, as LLM Compressor computes it
// (llmcompressor/modifiers/pruning/sparsegpt/sgpt_sparsify.py): the running-average Hessian of a
// Linear's inputs, the upper Cholesky factor of its inverse, and the block-wise pruning with error
// feedback. Everything runs in float32, on the tensors' device.
#pragma once

#include <ATen/ATen.h>
#include <llmc/pruning.hpp>

#include <cstdint>

namespace llmc::sparsegpt {

using MaskStructure = sdk::pruning::MaskStructure;

// The Hessian of a Linear's inputs, kept as the reference's running average:
// H = (2 / samples) * sum over all tokens of x x^T.
struct Hessian {
  at::Tensor matrix;        // [in_features, in_features] float32
  std::int64_t samples = 0; // calibration samples (sequences) accumulated so far
};

// Adds `input` ([tokens, in_features], any float dtype), the tokens of `sequences` samples, to `hessian`
// (accumulate_hessian: H *= n / (n + m); n += m; H += (sqrt(2 / n) X)^T (sqrt(2 / n) X)).
void accumulate_hessian(Hessian& hessian, const at::Tensor& input, std::int64_t sequences);

// What the pruning needs of a Hessian H.
struct InverseHessian {
  at::Tensor upper;      // [in, in] float32: the upper Cholesky factor of (H + damp I)^-1
  at::Tensor dead;       // bool [in]: columns with diag(H) == 0 (no input reached them); pruned to zero
  bool factorized{};     // false when H + damp I was not positive definite and `upper` is the identity
};

// Inverts `hessian`, overwriting it: dead columns get H[i, i] = 1, the diagonal gets
// dampening_frac * mean(diag(H)), then Cholesky, inverse, upper Cholesky of the inverse. A failed
// factorization gives the identity (then the pruning is magnitude pruning without error feedback).
InverseHessian invert_hessian(at::Tensor hessian, double dampening_frac);

struct SparsifyOptions {
  double sparsity = 0.5;         // fraction pruned (unstructured); with preserve_sparsity_mask also the
                                 // most the weight may already be sparse
  MaskStructure mask;            // unstructured, or N:M
  std::int64_t block_size = 128; // columns pruned together before their error reaches later columns
  bool preserve_sparsity_mask = false; // keep the weight's zeros pruned and extend them
};

struct Sparsified {
  at::Tensor weight; // [out, in] float32, pruned and updated
  double loss{};     // sum over rows and columns of (w - q)^2 / d^2, halved, as the reference logs it
};

// Prunes `weight` ([out, in], any float dtype; not modified) with the inverse Hessian of its inputs,
// as sparsify_weight does: per block of `block_size` columns, unstructured pruning drops the entries of
// w^2 / diag(Hinv)^2 at or below the value at sorted index int(numel * sparsity) of the block; N:M drops,
// per row, the N smallest of every M columns; every column's pruning error is fed into the columns
// after it, inside and across blocks.
// One deliberate difference: with preserve_sparsity_mask and N:M, the reference looks up the existing
// zeros of block-local columns i..i+M in the whole weight (columns of the first block, for every block);
// here they are the block's own columns. Both agree on the first block.
// Throws std::invalid_argument when preserve_sparsity_mask is set and the weight is already sparser
// than `sparsity`.
Sparsified sparsify_weight(const at::Tensor& weight, const InverseHessian& inverse, const SparsifyOptions& options);

}  // namespace llmc::sparsegpt
