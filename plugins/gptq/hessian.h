// plugins/gptq/hessian.h - GPTQ's Hessian statistics H = (2 / samples) * sum over tokens of x x^T,
// accumulated batch by batch with LLM Compressor's arithmetic (make_empty_hessian, accumulate_hessian,
// then H / n in prepare_batch), and shared by the modules that read the same input tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::gptq {

/// One module input's Hessian: a float32 [columns, columns] sum and the number of samples behind it.
class Hessian {
 public:
  /// Zeros on `device` (the device of the inputs it will see).
  Hessian(std::int64_t columns, at::Device device);

  /// Adds a calibration batch: `input` [tokens, columns] (any float dtype and strides) holds the tokens
  /// of `samples` sequences. H += (sqrt(2) X)(sqrt(2) X)^T in float32, op for op as the reference.
  /// Throws std::invalid_argument for a wrong shape, std::logic_error after normalized().
  void add(const at::Tensor& input, std::int64_t samples);

  /// The sum divided by the sample count (in place, once): the Hessian GPTQ uses. Throws
  /// std::logic_error when no sample was added.
  const at::Tensor& normalized();

  std::int64_t columns() const { return sum_.size(0); }
  std::int64_t samples() const { return samples_; }
  /// The running sum (the normalized Hessian once normalized() ran).
  const at::Tensor& sum() const { return sum_; }
  /// An independent copy (its own sum).
  std::shared_ptr<Hessian> clone() const;

 private:
  at::Tensor sum_;
  std::int64_t samples_ = 0;
  bool normalized_ = false;
};

/// A module's input in one calibration batch.
struct ModuleInput {
  std::string module;
  at::Tensor input;  // [tokens, in_features]
};

/// The Hessians of one layer's modules. Modules whose inputs in a batch are the same tensor (same data,
/// shape, strides and dtype: q/k/v_proj, gate/up_proj) share one Hessian, accumulated once per batch;
/// the reference computes a separate but identical one per module.
class LayerHessians {
 public:
  /// Adds one calibration batch of `samples` sequences. A sharing that the batch contradicts (modules
  /// that shared an input now read different ones) is split, each module keeping a copy of the sums.
  /// Throws std::invalid_argument, naming the module, for an input that is not [tokens, columns] with
  /// the module's column count.
  void add(const std::vector<ModuleInput>& inputs, std::int64_t samples);

  /// The Hessian of `module`, or nullptr when no batch held its input.
  std::shared_ptr<Hessian> find(std::string_view module) const;
  /// The number of distinct Hessians held.
  std::size_t distinct() const;
  /// Releases every Hessian.
  void clear() { by_module_.clear(); }

 private:
  // Adds `input` to a Hessian of `modules` alone, creating or splitting off copies as needed.
  void add_group(const std::vector<std::string>& modules, const at::Tensor& input, std::int64_t samples);
  std::size_t holders(const Hessian* hessian) const;

  std::map<std::string, std::shared_ptr<Hessian>, std::less<>> by_module_;
};

}  // namespace llmc::gptq
