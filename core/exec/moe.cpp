// core/exec/moe.cpp - the sparse MoE block (transformers' Mixtral / Qwen3-MoE experts loop).
#include "exec/moe.h"

#include <ATen/ATen.h>


namespace llmc::exec {

at::Tensor sparse_moe(const MoeSpec& spec, const LinearContext& layer, const at::Tensor& x) {
  const at::Tensor tokens = x.reshape({-1, x.size(-1)});
  const at::Tensor logits = linear(layer, spec.router, tokens);
  const at::Tensor probs = at::softmax(logits.to(at::kFloat), -1);
  auto [top_values, top_index] = at::topk(probs, spec.top_k, -1);
  if (spec.renormalize) top_values = top_values / top_values.sum(-1, /*keepdim=*/true);
  top_values = top_values.to(x.scalar_type());

  at::Tensor out = at::zeros_like(tokens);
  const auto num_experts = static_cast<int64_t>(spec.experts.size());
  const at::Tensor hit = at::one_hot(top_index, num_experts).permute({2, 1, 0});  // [experts, top_k, tokens]
  for (int64_t e = 0; e < num_experts; ++e) {
    const auto where = at::where(hit[e]);
    const at::Tensor& slot = where[0];
    const at::Tensor& token = where[1];
    if (token.numel() == 0) continue;
    const at::Tensor y = gated_mlp(spec.experts[static_cast<size_t>(e)], layer, tokens.index_select(0, token));
    out.index_add_(0, token, y * top_values.index({token, slot}).unsqueeze(-1));
  }
  return out.view(x.sizes());
}

}  // namespace llmc::exec
