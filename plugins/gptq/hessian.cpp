// plugins/gptq/hessian.cpp
#include "hessian.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

namespace llmc::gptq {

Hessian::Hessian(std::int64_t columns, at::Device device)
    : sum_(at::zeros({columns, columns}, at::TensorOptions().dtype(at::kFloat).device(device))) {}

void Hessian::add(const at::Tensor& input, std::int64_t samples) {
  if (normalized_) throw std::logic_error("gptq: a Hessian got a batch after it was normalized");
  if (input.dim() != 2 || input.size(1) != columns()) {
    throw std::invalid_argument("input of shape " + c10::str(input.sizes()) + ", expected [tokens, " +
                                std::to_string(columns()) + "]");
  }
  // accumulate_hessian: transpose, to float32, times sqrt(2), then H += X X^T (same ops, same layouts,
  // so the same sums in the same order).
  at::Tensor x = input.to(sum_.device()).t().to(at::kFloat);
  x = x * std::sqrt(2.0);
  sum_.add_(x.matmul(x.t()));
  samples_ += samples;
}

const at::Tensor& Hessian::normalized() {
  if (!normalized_) {
    if (samples_ == 0) throw std::logic_error("gptq: a Hessian without samples");
    sum_.div_(static_cast<double>(samples_));  // float32 / n, exact for n < 2^24 as the reference's float n
    normalized_ = true;
  }
  return sum_;
}

std::shared_ptr<Hessian> Hessian::clone() const {
  auto copy = std::make_shared<Hessian>(*this);
  copy->sum_ = sum_.clone();
  return copy;
}

namespace {

// What makes two module inputs the same tensor.
using InputKey = std::tuple<const void*, std::vector<std::int64_t>, std::vector<std::int64_t>, at::ScalarType>;

InputKey key_of(const at::Tensor& input) {
  return {input.const_data_ptr(), input.sizes().vec(), input.strides().vec(), input.scalar_type()};
}

}  // namespace

void LayerHessians::add(const std::vector<ModuleInput>& inputs, std::int64_t samples) {
  std::map<InputKey, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < inputs.size(); ++i) groups[key_of(inputs[i].input)].push_back(i);
  for (const auto& [key, members] : groups) {
    std::vector<std::string> modules;
    for (std::size_t i : members) modules.push_back(inputs[i].module);
    const at::Tensor& input = inputs[members.front()].input;
    try {
      add_group(modules, input, samples);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(modules.front() + ": " + e.what());
    }
  }
}

void LayerHessians::add_group(const std::vector<std::string>& modules, const at::Tensor& input,
                              std::int64_t samples) {
  if (input.dim() != 2) throw std::invalid_argument("input of shape " + c10::str(input.sizes()) + ", expected 2-D");
  const auto first = by_module_.find(modules.front());
  std::shared_ptr<Hessian> shared = first == by_module_.end() ? nullptr : first->second;
  bool same = true;
  for (const std::string& module : modules) {
    const auto it = by_module_.find(module);
    same = same && (it == by_module_.end() ? nullptr : it->second) == shared;
  }
  if (same && shared == nullptr) {  // the first batch: one new Hessian for the group
    shared = std::make_shared<Hessian>(input.size(1), input.device());
    for (const std::string& module : modules) by_module_[module] = shared;
  }
  if (same && holders(shared.get()) == modules.size()) {
    shared->add(input, samples);
    return;
  }
  for (const std::string& module : modules) {  // the sharing changed: each module on its own
    std::shared_ptr<Hessian>& own = by_module_[module];
    if (own == nullptr) {
      own = std::make_shared<Hessian>(input.size(1), input.device());
    } else if (holders(own.get()) > 1) {
      own = own->clone();
    }
    own->add(input, samples);
  }
}

std::shared_ptr<Hessian> LayerHessians::find(std::string_view module) const {
  const auto it = by_module_.find(module);
  return it == by_module_.end() ? nullptr : it->second;
}

std::size_t LayerHessians::distinct() const {
  std::vector<const Hessian*> seen;
  for (const auto& [module, hessian] : by_module_) {
    if (std::find(seen.begin(), seen.end(), hessian.get()) == seen.end()) seen.push_back(hessian.get());
  }
  return seen.size();
}

std::size_t LayerHessians::holders(const Hessian* hessian) const {
  std::size_t count = 0;
  for (const auto& [module, held] : by_module_) count += held.get() == hessian ? 1 : 0;
  return count;
}

}  // namespace llmc::gptq
