// core/exec/attention.cpp - self-attention (transformers' Llama/Qwen3 attention, SDPA for the scores).
#include "exec/attention.h"

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <limits>

#include "exec/bfloat16_rounding.h"
#include "exec/linear.h"
#include "exec/norm.h"
#include "exec/rope.h"

namespace llmc::exec {

at::Tensor attention_mask(const at::Tensor& tokens, std::optional<int64_t> window) {
  const int64_t length = tokens.size(1);
  const at::Tensor index = at::arange(length, at::TensorOptions().dtype(at::kLong).device(tokens.device()));
  const at::Tensor distance = index.unsqueeze(1) - index.unsqueeze(0);  // [T, T]: query i - key j
  at::Tensor allowed = distance >= 0;
  if (window) allowed = allowed.logical_and(distance < *window);
  at::Tensor mask = allowed.unsqueeze(0).logical_and(tokens.unsqueeze(1));  // [B, T, T]
  mask = mask.logical_or(at::eye(length, tokens.options().dtype(at::kBool)).unsqueeze(0));
  return mask.unsqueeze(1);
}

namespace {

double lowest_value(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kHalf: return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    case at::kDouble: return std::numeric_limits<double>::lowest();
    default: return std::numeric_limits<float>::lowest();
  }
}

// eager_attention of bfloat16 q, k, v with float32 products: the same bytes as the bfloat16 ops on the products
// rounded to bfloat16, computed in float32 with explicit rounding (a product of two bfloat16 values is exact
// in float32, and softmax widens its input first), without the bfloat16 tensors in between.
at::Tensor eager_attention_bfloat16_in_float32(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                               const at::Tensor& allowed, double scale) {
  at::Tensor scores = at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(2, 3)).contiguous();
  scale_and_mask_as_bfloat16_(scores, allowed, scale);
  at::Tensor probabilities = at::softmax(scores, -1).contiguous();
  round_to_bfloat16_(probabilities);
  return at::matmul(probabilities, v.to(at::kFloat)).to(at::kBFloat16);
}

}  // namespace

// Operation for operation, with its additive mask (0 or the dtype's lowest value), so that a calibrated
// forward rounds as the reference's does.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                           double scale, MatmulMath matmul) {
  if (q.scalar_type() == at::kBFloat16 && widens(matmul, q.scalar_type()))
    return eager_attention_bfloat16_in_float32(q, k, v, allowed, scale);
  const at::Tensor scores = matmul_in(matmul, q, k.transpose(2, 3)) * scale;
  const at::Tensor additive =
      at::zeros(allowed.sizes(), scores.options()).masked_fill_(allowed.logical_not(), lowest_value(scores.scalar_type()));
  const at::Tensor probabilities = at::softmax(scores + additive, -1, at::kFloat).to(q.scalar_type());
  return matmul_in(matmul, probabilities, v);
}

at::Tensor self_attention(const model::Architecture& arch, const AttentionNames& names, const LinearContext& layer,
                          const at::Tensor& x, const BatchContext& batch, const at::Tensor& mask) {
  const int64_t b = x.size(0), t = x.size(1), d = arch.head_dim;
  auto heads = [&](const at::Tensor& y, int64_t count, const std::optional<std::string>& norm) {
    at::Tensor split = y.view({b, t, count, d});
    if (norm) split = rms_norm(split, layer.weights.at(*norm + ".weight"), arch.norm_eps);
    return split.transpose(1, 2);  // [B, heads, T, D]
  };
  at::Tensor q = heads(linear(layer, names.q, x), arch.num_heads, names.q_norm);
  at::Tensor k = heads(linear(layer, names.k, x), arch.num_kv_heads, names.k_norm);
  at::Tensor v = heads(linear(layer, names.v, x), arch.num_kv_heads, std::nullopt);
  q = Rope::apply(q, batch.cos, batch.sin);
  k = Rope::apply(k, batch.cos, batch.sin);
  if (layer.kv) (*layer.kv)(k, v);
  if (const int64_t groups = arch.num_heads / arch.num_kv_heads; groups > 1) {  // GQA: kv head h serves heads h*g..
    k = k.repeat_interleave(groups, 1);
    v = v.repeat_interleave(groups, 1);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const at::Tensor out = batch.attention == AttentionMath::eager
                             ? eager_attention(q, k, v, mask, scale, batch.matmul)
                             : at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
  return linear(layer, names.o, out.transpose(1, 2).reshape({b, t, arch.num_heads * d}));
}

}  // namespace llmc::exec
