// core/exec/weight_source.h - a checkpoint's weights as dense at::Tensors in the compute dtype and on the
// compute device, read one tensor at a time from the memory-mapped files.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string_view>

#include "exec/activation_quantization.h"
#include "exec/attention.h"
#include "model/checkpoint.h"
#include "util/expected.h"

namespace llmc::exec {

struct ComputeOptions {
  at::ScalarType dtype = at::kFloat;  // checkpoint_dtype() runs in the checkpoint's own dtype
  at::Device device = at::kCPU;
  /// Fake-quantize the activations of Linears whose compressed-tensors scheme quantizes them, as CT's forward
  /// does; false runs a compressed checkpoint weight-only (dequantized weights, full-precision activations).
  bool quantize_activations = true;
  AttentionMath attention = AttentionMath::sdpa;
  MatmulMath matmul = MatmulMath::dtype;  // of bfloat16/float16 Linears and eager attention
};

/// A Linear as the runner computes it: its dense weight and what CT's forward does to its activations.
struct LinearWeight {
  at::Tensor weight;                   // [out, in], compute dtype and device
  ActivationQuantization activations;  // empty: full-precision activations
};

/// Where the runner takes its weights from. Every returned tensor is an owned copy: dropping it frees it.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  /// Tensor `name` ("model.norm.weight") as stored, converted; the error names the tensor and checkpoint.
  virtual Expected<at::Tensor> tensor(std::string_view name) = 0;
  /// Linear `module`: its dense weight "<module>.weight", or, for a module a compressed-tensors
  /// quantization_config quantizes, its stored values dequantized as compressed-tensors decompresses them,
  /// with the scheme's input/output activation args and their stored qparams ("<module>.input_scale", ...,
  /// in the compute dtype; none when ComputeOptions::quantize_activations is false).
  virtual Expected<LinearWeight> linear_weight(std::string_view module) = 0;
};

/// The weights of an opened checkpoint (which must outlive the source). Reads config.json's
/// "quantization_config" when present.
Expected<std::unique_ptr<WeightSource>> open_weight_source(const model::Checkpoint& checkpoint, ComputeOptions options);

/// config.json's "dtype" (transformers 5) or "torch_dtype"; float32 when neither is set.
Expected<at::ScalarType> checkpoint_dtype(const model::Checkpoint& checkpoint);

}  // namespace llmc::exec
