// core/exec/activation_quantization.cpp - CT's forward_quantize for activations.
#include "exec/activation_quantization.h"

#include <ATen/ATen.h>

#include "quant/quantize.h"

namespace llmc::exec {

Expected<at::Tensor> fake_quantize_activation(const QuantizedActivation& activation, const at::Tensor& value) {
  if (value.numel() == 0) return value;
  quant::QParams qparams;
  if (activation.args.dynamic == recipe::Dynamic::off) {
    if (!activation.stored.scale.defined()) return Error{"static quantization without a stored scale"};
    qparams = activation.stored;
  } else {
    auto dynamic = quant::compute_dynamic_qparams(value, activation.args, activation.stored.global_scale);
    LLMC_TRY(dynamic);
    qparams = std::move(*dynamic);
  }
  auto quantized = quant::fake_quantize(value, qparams, activation.args);
  LLMC_TRY(quantized);
  // CT returns the scale's dtype for tensor/channel/token args (the compute dtype unless the args set a
  // scale_dtype); the matmul runs in value's dtype
  return quantized->to(value.scalar_type());
}

}  // namespace llmc::exec
