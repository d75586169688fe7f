// core/exec/tap.h - the hooks calibration uses to watch and steer a layer's forward.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace llmc::exec {

/// Called for every Linear the forward runs (projections, router, each expert with the tokens routed to
/// it), with its input [..., in] and output [..., out], in execution order. The views are valid for the
/// call only; copy what must outlive it. For a Linear whose scheme quantizes activations, the input is the
/// one BEFORE fake-quantization (what the reference's calibration observers see; the matmul itself sees it
/// fake-quantized) and the output is the one the layer goes on with (after output fake-quantization, if any).
using LinearTap = std::function<void(std::string_view module, const at::Tensor& input, const at::Tensor& output)>;

/// Called once per attention forward with the keys (after rope) and values as the KV cache would store them,
/// [B, kv_heads, T, head_dim], before grouped-query attention repeats them.
using KvTap = std::function<void(const at::Tensor& keys, const at::Tensor& values)>;

/// A layer's tensors by full checkpoint name ("model.layers.0.self_attn.q_proj.weight"), dense, in the
/// compute dtype. Callers may replace entries (same shape) to run the layer with substituted weights.
using LayerWeights = std::map<std::string, at::Tensor, std::less<>>;

}  // namespace llmc::exec
