// core/exec/activation_quantization.h - the fake-quantization compressed-tensors' forward applies to a
// quantized Linear's input and output activations at inference (lifecycle/forward.py, forward_quantize),
// with core/quant's math.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "quant/qparams.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::exec {

/// One activation's quantization: the scheme's args and the qparams the checkpoint stores for it (scale and
/// zero point for static args; the global scale of tensor_group args, e.g. NVFP4's input_global_scale).
struct QuantizedActivation {
  recipe::QuantArgs args;
  quant::QParams stored;  // scale undefined for dynamic args
};

/// What CT's forward does to one Linear's activations; an absent side runs in full precision.
struct ActivationQuantization {
  std::optional<QuantizedActivation> input, output;

  bool empty() const { return !input && !output; }
};

/// A layer's activation quantization by module name ("model.layers.0.mlp.down_proj"); modules without an
/// entry run in full precision.
using LayerActivationQuantization = std::map<std::string, ActivationQuantization, std::less<>>;

/// CT forward_quantize of `value`: dynamic args (true or "local") compute the qparams from the value itself
/// (compute_dynamic_qparams with the stored global scale), static args use the stored qparams; then
/// fake_quantize. An empty value passes unchanged, as in CT. The result has value's dtype.
Expected<at::Tensor> fake_quantize_activation(const QuantizedActivation& activation, const at::Tensor& value);

}  // namespace llmc::exec
