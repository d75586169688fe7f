// core/exec/attention.cpp - self-attention (transformers' Llama/Qwen3 attention, SDPA for the scores).
#include "exec/attention.h"

#include <ATen/ATen.h>

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
  const at::Tensor out = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
  return linear(layer, names.o, out.transpose(1, 2).reshape({b, t, arch.num_heads * d}));
}

}  // namespace llmc::exec
