// smoothquant: LLM Compressor's SmoothQuantModifier (and its log-equalization variant): moves activation
// outliers into the following weights, leaving the model's function unchanged; a later modifier
// (gptq, rtn) quantizes.
//
// Per layer: calibrate keeps the running per-channel min and max of each mapping's smooth output (the
// first balance layer's input, in the model's dtype); compress turns their difference into scales
// (smoothing.h) and folds them: balance columns * s, smooth norm (or Linear rows) and bias / s.
// Recipe keys besides the host's: smoothing_strength (alpha, in [0, 1]) and algorithm ("smoothquant" or
// "log_equalization", which ignores the weights and alpha).
#include <llmc/plugin.hpp>
#include <llmc/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smoothing.h"

namespace {

namespace sdk = llmc::sdk;
namespace smoothing = llmc::smoothing;

constexpr llmc_option_spec options[] = {
    sdk::float_option("smoothing_strength", "0.5", "alpha in [0, 1]: how much of the activation range moves to weights"),
    sdk::string_option("algorithm", R"("smoothquant")", "\"smoothquant\" or \"log_equalization\""),
};

at::Tensor as_tensor(const sdk::TensorView& view) { return llmc::torch_bridge::as_tensor(view.raw()); }

double read_alpha(const sdk::Context& ctx) {
  const double alpha = ctx.option<double>("smoothing_strength");
  if (!(alpha >= 0.0 && alpha <= 1.0)) ctx.option_error("smoothing_strength", "must be in [0, 1], got " + std::to_string(alpha));
  return alpha;
}

smoothing::Algorithm read_algorithm(const sdk::Context& ctx) {
  const std::string value = ctx.option<std::string>("algorithm");
  if (value == "smoothquant") return smoothing::Algorithm::smoothquant;
  if (value == "log_equalization") return smoothing::Algorithm::log_equalization;
  ctx.option_error("algorithm", "expected \"smoothquant\" or \"log_equalization\", got \"" + value + "\"");
}

class SmoothQuant {
 public:
  static constexpr const char* torch_version = LLMC_TORCH_VERSION;

  explicit SmoothQuant(sdk::Context& ctx) : ctx_(ctx), alpha_(read_alpha(ctx)), algorithm_(read_algorithm(ctx)) {}

  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    if (!layer_ || *layer_ != layer.index()) {
      layer_ = layer.index();
      mappings_ = layer.mappings("smoothquant");
      ranges_.clear();
    }
    for (const sdk::Mapping& mapping : mappings_) {
      bool seen = false;
      for (const sdk::Activation activation : batch) {
        if (activation.module() != mapping.balance.front()) continue;
        ranges_[mapping.smooth].update(as_tensor(activation.input()));
        seen = true;
        break;
      }
      if (!seen)
        throw sdk::Error(LLMC_ERROR_INTERNAL, "smoothquant: batch " + std::to_string(batch.index()) +
                                                  " has no input for " + mapping.balance.front());
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList&) {
    if (layer_ && *layer_ == layer.index()) {
      for (const sdk::Mapping& mapping : mappings_) smooth(layer, mapping);
    }
    layer_.reset();
    mappings_.clear();
    ranges_.clear();
  }

 private:
  void smooth(sdk::Layer& layer, const sdk::Mapping& mapping) {
    const auto range = ranges_.find(mapping.smooth);
    if (range == ranges_.end() || range->second.empty()) return;
    ctx_.log_debug("smoothquant: smoothing with " + mapping.smooth);
    std::vector<at::Tensor> weights;
    for (const std::string& balance : mapping.balance)
      weights.push_back(as_tensor(layer.tensor(balance, "weight", sdk::Access::write)));
    const at::Tensor scales = smoothing::smoothing_scales(range->second.dynamic_range(), weights, algorithm_, alpha_);
    const at::Tensor smooth_weight = as_tensor(layer.tensor(mapping.smooth, "weight", sdk::Access::write));
    smoothing::fold_scales(scales, weights, smooth_weight, smooth_bias(layer, mapping.smooth));
  }

  static std::optional<at::Tensor> smooth_bias(sdk::Layer& layer, const std::string& module) {
    const auto bias = layer.tensor_if_present(module, "bias", sdk::Access::write);
    return bias ? std::optional<at::Tensor>(as_tensor(*bias)) : std::nullopt;
  }

  sdk::Context& ctx_;
  double alpha_;
  smoothing::Algorithm algorithm_;
  // The layer being calibrated: its mappings and the output range of each smooth layer.
  std::optional<std::int32_t> layer_;
  std::vector<sdk::Mapping> mappings_;
  std::map<std::string, smoothing::ChannelRange> ranges_;
};

}  // namespace

LLMC_CPP_PLUGIN(SmoothQuant, smoothquant, "1.0.0",
                "SmoothQuant / logarithmic equalization: activation outliers folded into the next weights",
                LLMC_CAP_EDITS_WEIGHTS, options)
