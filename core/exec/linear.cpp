// core/exec/linear.cpp - one Linear.
#include "exec/linear.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <stdexcept>

namespace llmc::exec {
namespace {

at::Tensor fake_quantize_or_throw(const QuantizedActivation& activation, const at::Tensor& value,
                                  const std::string& module, const char* side) {
  auto quantized = fake_quantize_activation(activation, value);
  if (!quantized)
    throw std::runtime_error(fmt::format("module '{}': {} activations: {}", module, side, quantized.error().message));
  return std::move(*quantized);
}

}  // namespace

at::Tensor run_linear(const std::string& module, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                      const ActivationQuantization* activations, const LinearTap* tap, MatmulMath math) {
  const at::Tensor input =
      activations && activations->input ? fake_quantize_or_throw(*activations->input, x, module, "input") : x;
  at::Tensor y = linear_in(math, input, weight, bias);
  if (activations && activations->output) y = fake_quantize_or_throw(*activations->output, y, module, "output");
  if (tap && *tap) (*tap)(module, x, y);
  return y;
}

at::Tensor linear(const LinearContext& layer, const std::string& module, const at::Tensor& x) {
  const auto bias = layer.weights.find(module + ".bias");
  const auto activations = layer.activations.find(module);
  return run_linear(module, x, layer.weights.at(module + ".weight"),
                    bias == layer.weights.end() ? at::Tensor() : bias->second,
                    activations == layer.activations.end() ? nullptr : &activations->second, layer.tap, layer.matmul);
}

}  // namespace llmc::exec
