// awq: activation-aware weight quantization, LLM Compressor's AWQModifier followed by its quantization
// (the reference's legacy AWQModifier(scheme=...)): one modifier smooths each mapping of a layer with the
// scales its grid search picks, then quantizes every module of the modifier that has a weight scheme.
//
// Per layer: calibrate accumulates mean |x| of each mapping's smooth output (the first balance layer's
// input, float32 sums). compress, for each mapping in model order, runs the parent on every calibration
// batch for the reference outputs, searches the grid (awq_search.h) with the host fake-quantizing the
// balance layers' weights by their schemes, folds the best scales (balance columns * s, smooth output / s),
// then records the weight quantization of the modifier's modules; the host packs them on write.
// Recipe keys besides the host's: duo_scaling ("true", "false" or "both"; a string because a key has one
// type) and n_grid. Every balance layer needs a weight scheme; duo scaling rejects the tensor strategy.
#include <llmc/plugin.hpp>
#include <llmc/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "awq_search.h"

namespace {

namespace sdk = llmc::sdk;
namespace awq = llmc::awq;

constexpr llmc_option_spec options[] = {
    sdk::string_option("duo_scaling", R"("true")",
                       "\"true\": scales from activations and weights; \"false\": activations only; \"both\": "
                       "half the grid each"),
    sdk::int_option("n_grid", "20", "grid points searched per mapping"),
};

at::Tensor as_tensor(const sdk::TensorView& view) { return llmc::torch_bridge::as_tensor(view.raw()); }

// A tensor the host handed over, as an at::Tensor that frees it with its deleter.
at::Tensor adopt(sdk::OwnedTensor owned) {
  const at::Tensor view = as_tensor(owned.view());
  llmc_dl_managed_tensor* raw = owned.get();
  at::Tensor tensor = at::from_blob(
      view.data_ptr(), view.sizes(), view.strides(), [raw](void*) { raw->deleter(raw); }, view.options());
  owned.release();
  return tensor;
}

awq::DuoScaling read_duo_scaling(const sdk::Context& ctx) {
  const std::string value = ctx.option<std::string>("duo_scaling");
  if (value == "true") return awq::DuoScaling::on;
  if (value == "false") return awq::DuoScaling::off;
  if (value == "both") return awq::DuoScaling::both;
  ctx.option_error("duo_scaling", "expected \"true\", \"false\" or \"both\", got \"" + value + "\"");
}

std::vector<awq::GridPoint> read_grid(const sdk::Context& ctx, awq::DuoScaling duo) {
  try {
    return awq::grid_points(duo, ctx.option<std::int64_t>("n_grid"));
  } catch (const std::invalid_argument& e) {
    ctx.option_error("n_grid", e.what());
  }
}

// What the search needs of a module's weight scheme.
struct WeightScheme {
  awq::WeightGroups groups;
  bool tensor_strategy = false;
};

// The weight part of a module's scheme_json, or nullopt when it quantizes no weight.
std::optional<WeightScheme> parse_weight_scheme(std::string_view module, std::string_view scheme_json) {
  const auto scheme = nlohmann::json::parse(scheme_json, nullptr, false);
  if (scheme.is_discarded() || !scheme.is_object())
    throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, std::string(module) + ": the host's scheme_json is not a JSON object");
  const auto weights = scheme.find("weights");
  if (weights == scheme.end() || weights->is_null()) return std::nullopt;
  const std::string strategy = weights->value("strategy", "");
  WeightScheme result;
  using Kind = awq::WeightGroups::Kind;
  if (strategy == "tensor") {
    result.groups.kind = Kind::tensor;
    result.tensor_strategy = true;
  } else if (strategy == "channel") {
    result.groups.kind = Kind::channel;
  } else if (strategy == "group" || strategy == "tensor_group") {
    result.groups = {Kind::group, weights->at("group_size").get<std::int64_t>()};
  } else if (strategy == "block") {
    const auto block = weights->at("block_structure").get<std::vector<std::int64_t>>();
    result.groups = {Kind::block, 0, block.at(0), block.at(1)};
  } else {
    throw sdk::Error(LLMC_ERROR_UNSUPPORTED,
                     std::string(module) + ": awq does not support the weight strategy \"" + strategy + "\"");
  }
  return result;
}

std::string describe(const sdk::Mapping& mapping) {
  std::string text = mapping.smooth + " -> [";
  for (std::size_t i = 0; i < mapping.balance.size(); ++i) text += (i ? ", " : "") + mapping.balance[i];
  return text + "]";
}

class Awq {
 public:
  static constexpr const char* torch_version = LLMC_TORCH_VERSION;

  explicit Awq(sdk::Context& ctx) : ctx_(ctx), duo_(read_duo_scaling(ctx)), grid_(read_grid(ctx, duo_)) {}

  void initialize(const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      const auto json = module.scheme_json();
      if (!json) continue;
      if (auto scheme = parse_weight_scheme(module.name(), *json)) weight_schemes_.emplace(module.name(), *scheme);
    }
  }

  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    if (!layer_ || *layer_ != layer.index()) start_layer(layer);
    batches_.push_back(batch.index());
    for (const sdk::Mapping& mapping : mappings_) {
      bool seen = false;
      for (const sdk::Activation activation : batch) {
        if (activation.module() != mapping.balance.front()) continue;
        means_[mapping.smooth].add(as_tensor(activation.input()));
        seen = true;
        break;
      }
      if (!seen)
        throw sdk::Error(LLMC_ERROR_INTERNAL, "awq: batch " + std::to_string(batch.index()) + " has no input for " +
                                                  mapping.balance.front());
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    if (layer_ && *layer_ == layer.index()) {
      for (const sdk::Mapping& mapping : mappings_) smooth(layer, mapping);
    }
    layer_.reset();
    mappings_.clear();
    means_.clear();
    batches_.clear();
    for (const sdk::Module module : modules) {
      if (weight_schemes_.contains(std::string(module.name()))) layer.quant_weight(module.name());
    }
  }

 private:
  // A new layer: its mappings, checked against the balance layers' schemes before any statistics.
  void start_layer(sdk::Layer& layer) {
    layer_ = layer.index();
    mappings_ = layer.mappings("awq");
    means_.clear();
    batches_.clear();
    for (const sdk::Mapping& mapping : mappings_) {
      for (const std::string& balance : mapping.balance) {
        const auto scheme = weight_schemes_.find(balance);
        if (scheme == weight_schemes_.end())
          throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT,
                           "awq: balance layer " + balance + " of mapping " + describe(mapping) +
                               " has no weight quantization scheme (awq quantizes the layers it smooths: give the "
                               "modifier a scheme covering it)");
        if (scheme->second.tensor_strategy && duo_ != awq::DuoScaling::off)
          throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT,
                           "awq: duo_scaling is only supported with per-channel quantization strategies (group or "
                           "channel), but " + balance + " has the tensor strategy: set duo_scaling = \"false\" or use "
                           "a per-channel strategy");
      }
    }
  }

  void smooth(sdk::Layer& layer, const sdk::Mapping& mapping) {
    const awq::ActivationMean& mean = means_[mapping.smooth];
    if (mean.tokens() == 0) {
      ctx_.log_info("awq: skipping " + describe(mapping) + ": no calibration tokens");
      return;
    }
    std::vector<at::Tensor> reference;
    for (const std::int64_t batch : batches_) reference.push_back(adopt(layer.forward(mapping.parent, batch)));
    for (const at::Tensor& output : reference) {
      if (!output.isfinite().all().item<bool>()) {
        ctx_.log_warning("awq: skipping " + describe(mapping) + ": NaN or inf in the outputs of " + mapping.parent +
                         " before any change");
        return;
      }
    }
    std::vector<at::Tensor> weights;
    std::vector<awq::WeightGroups> groups;
    for (const std::string& balance : mapping.balance) {
      weights.push_back(as_tensor(layer.tensor(balance, "weight", sdk::Access::write)));
      groups.push_back(weight_schemes_.at(balance).groups);
    }
    const at::Tensor w_mean = duo_ == awq::DuoScaling::off ? at::Tensor() : awq::weight_mean(weights, groups);
    const awq::SearchCallbacks callbacks{
        [&](std::size_t batch) { return adopt(layer.forward(mapping.parent, batches_[batch])); },
        [&](std::size_t balance, const at::Tensor& out) {
          std::vector<std::int64_t> shape, strides;
          layer.fake_quantize_weight(mapping.balance[balance],
                                     sdk::TensorView(llmc::torch_bridge::as_view(out, shape, strides)));
        }};
    awq::SearchResult result;
    try {
      result = awq::search_scales(weights, mean.mean(), w_mean, grid_, reference, callbacks);
    } catch (const std::runtime_error& e) {
      throw sdk::Error(LLMC_ERROR_NUMERICAL, "awq: " + describe(mapping) + ": " + e.what());
    }
    const at::Tensor smooth_weight = as_tensor(layer.tensor(mapping.smooth, "weight", sdk::Access::write));
    awq::fold_scales(result.scales, weights, smooth_weight, smooth_bias(layer, mapping.smooth));
    const awq::GridPoint best = grid_[result.best];
    char summary[128];
    std::snprintf(summary, sizeof summary, ": ratio %.6f%s, loss %.6e -> %.6e", best.ratio, best.duo ? " (duo)" : "",
                  result.losses.front(), result.losses[result.best]);
    ctx_.log_debug("awq: " + describe(mapping) + summary);
  }

  static std::optional<at::Tensor> smooth_bias(sdk::Layer& layer, const std::string& module) {
    const auto bias = layer.tensor_if_present(module, "bias", sdk::Access::write);
    return bias ? std::optional<at::Tensor>(as_tensor(*bias)) : std::nullopt;
  }

  sdk::Context& ctx_;
  awq::DuoScaling duo_;
  std::vector<awq::GridPoint> grid_;
  std::map<std::string, WeightScheme, std::less<>> weight_schemes_;
  // The layer being calibrated: its mappings, mean |x| per smooth layer, and its batch indices.
  std::optional<std::int32_t> layer_;
  std::vector<sdk::Mapping> mappings_;
  std::map<std::string, awq::ActivationMean> means_;
  std::vector<std::int64_t> batches_;
};

}  // namespace

LLMC_CPP_PLUGIN(Awq, awq, "1.0.0", "activation-aware weight quantization (AWQModifier + its weight quantization)",
                LLMC_CAP_QUANTIZES | LLMC_CAP_EDITS_WEIGHTS | LLMC_CAP_RUNS_MODULES, options)
