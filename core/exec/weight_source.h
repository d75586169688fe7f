// core/exec/weight_source.h - a checkpoint's weights as dense at::Tensors in the compute dtype and on the
// compute device, read one tensor at a time from the memory-mapped files.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string_view>

#include "model/checkpoint.h"
#include "util/expected.h"

namespace llmc::exec {

struct ComputeOptions {
  at::ScalarType dtype = at::kFloat;  // checkpoint_dtype() runs in the checkpoint's own dtype
  at::Device device = at::kCPU;
};

/// Where the runner takes its weights from. Every returned tensor is an owned copy: dropping it frees it.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  /// Tensor `name` ("model.norm.weight") as stored, converted; the error names the tensor and checkpoint.
  virtual Expected<at::Tensor> tensor(std::string_view name) = 0;
  /// The dense weight [out, in] of Linear `module`: "<module>.weight", or, for a module a compressed-tensors
  /// quantization_config quantizes, its stored values dequantized as compressed-tensors decompresses them
  /// (weights only: the scheme's activation quantization is not simulated).
  virtual Expected<at::Tensor> linear_weight(std::string_view module) = 0;
};

/// The weights of an opened checkpoint (which must outlive the source). Reads config.json's
/// "quantization_config" when present.
Expected<std::unique_ptr<WeightSource>> open_weight_source(const model::Checkpoint& checkpoint, ComputeOptions options);

/// config.json's "dtype" (transformers 5) or "torch_dtype"; float32 when neither is set.
Expected<at::ScalarType> checkpoint_dtype(const model::Checkpoint& checkpoint);

}  // namespace llmc::exec
