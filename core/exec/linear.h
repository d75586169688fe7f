// core/exec/linear.h - one Linear of a layer, read from the layer's weights, with the activation
// quantization compressed-tensors' forward applies to it, and reported to the tap.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "exec/activation_quantization.h"
#include "exec/matmul_math.h"
#include "exec/tap.h"

namespace llmc::exec {

/// What a layer's Linears read: their tensors, their activation quantization, and the tap (may be null).
struct LinearContext {
  const LayerWeights& weights;
  const LayerActivationQuantization& activations;
  const LinearTap* tap;
  const KvTap* kv = nullptr;  // sees attention's keys and values (may be null)
  MatmulMath matmul = MatmulMath::dtype;
};

/// y = x W^T (+ b) in `math`, as CT's forward runs it: with input activation args, the matmul sees x fake-quantized;
/// with output args, y is fake-quantized. The tap gets x before fake-quantization and the returned y.
/// Throws std::runtime_error naming `module` when the quantization fails (and c10::Error on bad shapes).
at::Tensor run_linear(const std::string& module, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                      const ActivationQuantization* activations, const LinearTap* tap, MatmulMath math);

/// run_linear with "<module>.weight" (and "<module>.bias" when present), the activation quantization of
/// `module` and the matmul math from `layer`.
at::Tensor linear(const LinearContext& layer, const std::string& module, const at::Tensor& x);

}  // namespace llmc::exec
