// plugins/gptq/weight_scheme.cpp
#include "weight_scheme.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace llmc::gptq {
namespace {

// weights.actorder as compressed-tensors spells it: "weight" (alias "static"), or null / false for none.
std::optional<ActOrder> parse_scheme_actorder(const nlohmann::json& value) {
  if (value.is_null() || (value.is_boolean() && !value.get<bool>())) return std::nullopt;
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    if (text == "weight" || text == "static") return ActOrder::weight;
    if (text == "group" || text == "dynamic") throw std::invalid_argument(kGroupActorderRemoved);
  }
  throw std::invalid_argument("weights.actorder " + value.dump() + " is not \"weight\", \"static\" or null");
}

}  // namespace

const char* const kGroupActorderRemoved = "actorder \"group\" was removed by compressed-tensors 0.19, which no longer loads its weight_g_idx, and llmcompressor 0.14 refuses it; \"weight\" takes the columns in the same order";

std::string_view to_string(WeightStrategy strategy) {
  switch (strategy) {
    case WeightStrategy::tensor: return "tensor";
    case WeightStrategy::channel: return "channel";
    case WeightStrategy::group: return "group";
    case WeightStrategy::tensor_group: return "tensor_group";
    case WeightStrategy::block: return "block";
  }
  return "?";
}

std::string_view to_string(ActOrder order) {
  switch (order) {
    case ActOrder::none: return "none";
    case ActOrder::weight: return "weight";
  }
  return "?";
}

std::optional<WeightScheme> parse_weight_scheme(std::string_view scheme_json) {
  const nlohmann::json scheme = nlohmann::json::parse(scheme_json, nullptr, /*allow_exceptions=*/false);
  if (!scheme.is_object()) throw std::invalid_argument("the scheme is not a JSON object");
  const auto weights = scheme.find("weights");
  if (weights == scheme.end() || weights->is_null()) return std::nullopt;
  if (!weights->is_object()) throw std::invalid_argument("the scheme's weights is not an object");
  const auto strategy = weights->find("strategy");
  if (strategy == weights->end() || !strategy->is_string()) {
    throw std::invalid_argument("the scheme's weights carry no strategy");
  }
  WeightScheme result;
  const auto name = strategy->get<std::string>();
  if (name == "tensor") {
    result.strategy = WeightStrategy::tensor;
  } else if (name == "channel") {
    result.strategy = WeightStrategy::channel;
  } else if (name == "group") {
    result.strategy = WeightStrategy::group;
  } else if (name == "tensor_group") {
    result.strategy = WeightStrategy::tensor_group;
  } else if (name == "block") {
    result.strategy = WeightStrategy::block;
  } else {
    throw std::invalid_argument("GPTQ quantizes weights with strategy tensor, channel, group, tensor_group or "
                                "block, not \"" + name + "\"");
  }
  if (const auto actorder = weights->find("actorder"); actorder != weights->end()) {
    result.actorder = parse_scheme_actorder(*actorder);
  }
  return result;
}

ActOrder resolve_actorder(std::string_view option, const WeightScheme& scheme) {
  if (option == "static") return scheme.actorder.value_or(ActOrder::weight);  // the reference's sentinel default
  ActOrder order;
  if (option == "weight") {
    order = ActOrder::weight;
  } else if (option == "none") {
    order = ActOrder::none;
  } else if (option == "group" || option == "dynamic") {
    throw std::invalid_argument(kGroupActorderRemoved);
  } else {
    throw std::invalid_argument("expected \"static\", \"weight\" or \"none\", got \"" + std::string(option) + "\"");
  }
  if (scheme.actorder && *scheme.actorder != order) {
    throw std::invalid_argument("actorder = \"" + std::string(option) + "\" conflicts with the scheme's "
                                "weights.actorder = \"" + std::string(to_string(*scheme.actorder)) +
                                "\": set one of them");
  }
  return order;
}

}  // namespace llmc::gptq
