// core/exec/attention.h - causal self-attention with rope, GQA, optional q/k norms, padding and
// sliding-window masks.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "exec/linear.h"
#include "exec/matmul_math.h"
#include "model/architecture.h"

namespace llmc::exec {

/// How attention computes softmax(q k^T / sqrt(d)) v. The two round differently in bf16 (and by an ulp in fp32).
enum class AttentionMath {
  sdpa,   // at::scaled_dot_product_attention, as transformers' default "sdpa" attention
  eager,  // transformers' eager_attention_forward: matmul, scale, additive lowest-value mask, softmax in fp32,
          // the probabilities cast back; LLM Compressor forces it while calibrating
};

/// What every layer shares for one batch: rope tables, which positions hold tokens, the attention math and
/// the matmul math of its Linears and eager attention.
struct BatchContext {
  at::Tensor cos, sin;  // [B, T, head_dim], compute dtype
  at::Tensor tokens;    // [B, T] bool: true = a token, false = padding
  AttentionMath attention = AttentionMath::sdpa;
  MatmulMath matmul = MatmulMath::dtype;
};

/// Module names of one layer's attention.
struct AttentionNames {
  std::string q, k, v, o;
  std::optional<std::string> q_norm, k_norm;
};

/// [B, 1, T, T] bool, true = may attend: key j <= query i, j is a token and i - j < window. A padding
/// query attends to itself only, so it stays finite and never reaches a token's output.
at::Tensor attention_mask(const at::Tensor& tokens, std::optional<int64_t> window);

/// transformers' eager_attention_forward on q, k, v [B, heads, T, D] (k, v already repeated for GQA) with mask
/// `allowed` [B, 1, T, T], its two products in `matmul`.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                           double scale, MatmulMath matmul);

/// Self-attention of x [B, T, hidden] -> [B, T, hidden] (o_proj included).
at::Tensor self_attention(const model::Architecture& arch, const AttentionNames& names, const LinearContext& layer,
                          const at::Tensor& x, const BatchContext& batch, const at::Tensor& mask);

}  // namespace llmc::exec
