// core/pipeline/activation_observers.h - the host's observers of the activations a scheme quantizes with
// calibrated parameters: a Linear's static input or output activations, the global scale of "local" (NVFP4)
// inputs, and attention's keys and values for a kv_cache_scheme; and the importance of a Linear's inputs
// for an imatrix_mse weight observer. They watch a layer's calibration pass and give their parameters when
// the layer is done, as the reference computes them at the end of its epoch.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "quant/observer.h"
#include "recipe/quant_args.h"
#include "util/expected.h"

namespace llmc::pipeline {

using InputImportances = std::map<std::string, quant::InputImportance, std::less<>>;

/// The calibrated activation parameters of one module: input/output of a Linear, or k/v of an attention block.
struct ObservedParams {
  std::optional<quant::QParams> first;   // input, or k
  std::optional<quant::QParams> second;  // output, or v
};

class ActivationObservers {
 public:
  /// Observers for the Linears among `schemes` (module -> resolved scheme JSON) whose input or output
  /// activations are static or "local", the input importance of those whose weight observer uses it, and,
  /// with `kv_cache`, observers of the keys and values of `attention`.
  static Expected<ActivationObservers> create(const std::map<std::string, const nlohmann::json*, std::less<>>& schemes,
                                              const std::optional<recipe::QuantArgs>& kv_cache, std::string attention);

  bool empty() const { return linears_.empty() && !kv_ && importance_.empty(); }
  /// Whether the Linear's output activations are observed (observe_linear reads its output).
  bool observes_output(std::string_view module) const;
  /// Feeds one batch: a Linear's input [.., in] and output, or the keys and values [B, kv_heads, T, head_dim].
  Status observe_linear(std::string_view module, const at::Tensor& input, const at::Tensor& output);
  Status observe_kv(const at::Tensor& keys, const at::Tensor& values);

  /// The parameters of every observed module, by module name (the attention block for k/v).
  Expected<std::map<std::string, ObservedParams>> params() const;
  /// The importance of the inputs of the Linears whose weight observer uses it, by module name.
  const InputImportances& input_importance() const { return importance_; }

 private:
  struct Pair {
    std::optional<quant::Observer> first, second;
  };
  std::map<std::string, Pair, std::less<>> linears_;
  std::optional<Pair> kv_;
  std::string attention_;
  InputImportances importance_;
};

/// Whether `args` (a QuantizationArgs JSON, or null) are activations with calibrated parameters: static, or
/// dynamic "local" (a calibrated global scale).
bool needs_calibration(const nlohmann::json& args);

/// Whether `weights` (a QuantizationArgs JSON, or null) name a weight observer that weighs its search by the
/// importance of the module's inputs (imatrix_mse), which calibration data gives.
bool needs_input_importance(const nlohmann::json& weights);

}  // namespace llmc::pipeline
