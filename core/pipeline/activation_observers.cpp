// core/pipeline/activation_observers.cpp
#include "pipeline/activation_observers.h"

#include <fmt/format.h>

namespace llmc::pipeline {
namespace {

Expected<std::optional<quant::Observer>> observer_for(const nlohmann::json& args, std::string_view what) {
  if (!needs_calibration(args)) return std::optional<quant::Observer>();
  auto parsed = recipe::quant_args_from_json(args);
  if (!parsed) return Error{fmt::format("{}: {}", what, parsed.error().message)};
  auto observer = quant::Observer::create(*parsed);
  if (!observer) return Error{fmt::format("{}: {}", what, observer.error().message)};
  return std::optional<quant::Observer>(std::move(*observer));
}

Status update(std::optional<quant::Observer>& observer, const at::Tensor& value, std::string_view module) {
  if (!observer) return Status::ok();
  if (auto status = observer->update(value); !status) return Error{fmt::format("{}: {}", module, status.error().message)};
  return Status::ok();
}

Expected<std::optional<quant::QParams>> finish(const std::optional<quant::Observer>& observer, std::string_view module) {
  if (!observer) return std::optional<quant::QParams>();
  auto qparams = observer->qparams();
  if (!qparams) return Error{fmt::format("{}: {} (did the calibration data reach it?)", module, qparams.error().message)};
  return std::optional<quant::QParams>(std::move(*qparams));
}

}  // namespace

bool needs_calibration(const nlohmann::json& args) {
  if (!args.is_object()) return false;
  const auto dynamic = args.value("dynamic", nlohmann::json(false));
  return dynamic == nlohmann::json(false) || dynamic == nlohmann::json("local");
}

bool needs_input_importance(const nlohmann::json& weights) {
  if (!weights.is_object()) return false;
  const auto observer = weights.find("observer");
  return observer != weights.end() && observer->is_string() &&
         quant::uses_input_importance(observer->get<std::string>());
}

Expected<ActivationObservers> ActivationObservers::create(
    const std::map<std::string, const nlohmann::json*, std::less<>>& schemes,
    const std::optional<recipe::QuantArgs>& kv_cache, std::string attention) {
  ActivationObservers observers;
  for (const auto& [module, scheme] : schemes) {
    Pair pair;
    auto input = observer_for((*scheme)["input_activations"], module);
    if (!input) return input.error();
    auto output = observer_for((*scheme)["output_activations"], module);
    if (!output) return output.error();
    pair.first = std::move(*input);
    pair.second = std::move(*output);
    if (pair.first || pair.second) observers.linears_.emplace(module, std::move(pair));
    if (needs_input_importance((*scheme)["weights"])) observers.importance_.emplace(module, quant::InputImportance{});
  }
  if (kv_cache) {
    auto keys = quant::Observer::create(*kv_cache);
    if (!keys) return Error{fmt::format("kv_cache_scheme: {}", keys.error().message)};
    observers.kv_ = Pair{*keys, *keys};
    observers.attention_ = std::move(attention);
  }
  return observers;
}

Status ActivationObservers::observe_linear(std::string_view module, const at::Tensor& input, const at::Tensor& output) {
  if (const auto importance = importance_.find(module); importance != importance_.end()) {
    if (auto status = importance->second.add(input); !status)
      return Error{fmt::format("{}: {}", module, status.error().message)};
  }
  const auto it = linears_.find(module);
  if (it == linears_.end()) return Status::ok();
  LLMC_TRY(update(it->second.first, input, module));
  return update(it->second.second, output, module);
}

bool ActivationObservers::observes_output(std::string_view module) const {
  const auto it = linears_.find(module);
  return it != linears_.end() && it->second.second.has_value();
}

Status ActivationObservers::observe_kv(const at::Tensor& keys, const at::Tensor& values) {
  if (!kv_) return Status::ok();
  LLMC_TRY(update(kv_->first, keys, attention_));
  return update(kv_->second, values, attention_);
}

Expected<std::map<std::string, ObservedParams>> ActivationObservers::params() const {
  std::map<std::string, ObservedParams> result;
  auto add = [&](const std::string& module, const Pair& pair) -> Status {
    auto first = finish(pair.first, module);
    if (!first) return first.error();
    auto second = finish(pair.second, module);
    if (!second) return second.error();
    result.emplace(module, ObservedParams{std::move(*first), std::move(*second)});
    return Status::ok();
  };
  for (const auto& [module, pair] : linears_) LLMC_TRY(add(module, pair));
  if (kv_) LLMC_TRY(add(attention_, *kv_));
  return result;
}

}  // namespace llmc::pipeline
