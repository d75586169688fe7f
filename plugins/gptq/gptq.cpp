// gptq: LLM Compressor's GPTQModifier (modifiers/gptq; digest section 4.4) through the llmc C ABI.
//
// Calibration: per decoder layer and batch, the input of every module with a weight scheme is folded
// into its Hessian H = (2 / samples) sum x x^T (float32); modules reading the same tensor (q/k/v_proj,
// gate/up_proj) share one. Compression, per layer: the host records each module's weight qparams from
// its current weight (quant_weight), all before any weight
// changes, as the reference observes every weight first; then GPTQ quantizes each weight column by
// column through the host's fake-quantization with those qparams, writes it back (the host later packs
// it losslessly with the same qparams), and the layer's Hessians are released.
//
// Recipe keys besides the host's: block_size (128), dampening_frac (0.01), actorder ("static": the
// scheme's weights.actorder, else "weight"; or "weight", "none"; "group" is refused, as compressed-tensors 0.19
// removed it), weight_observer (as rtn's, and "imatrix_mse": the host then gathers the importance of each
// module's inputs in GPTQ's calibration pass).
#include <llmc/plugin.hpp>
#include <llmc/torch.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gptq_quantize.h"
#include "hessian.h"
#include "weight_scheme.h"

namespace {

namespace sdk = llmc::sdk;
namespace gptq = llmc::gptq;
namespace bridge = llmc::torch_bridge;

constexpr llmc_option_spec options[] = {
    sdk::int_option("block_size", "128", "columns quantized together before their error reaches the rest"),
    sdk::float_option("dampening_frac", "0.01", "added to the Hessian's diagonal, as a fraction of its mean"),
    sdk::string_option("actorder", R"("static")",
                       "column order: \"static\" (the scheme's weights.actorder, else \"weight\"), \"weight\" "
                       "(descending Hessian diagonal) or \"none\""),
    sdk::string_option("weight_observer", R"("")", "overrides the weight observer of every scheme (e.g. \"mse\")"),
};

std::string format_number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// A DLPack view of a tensor whose shape storage lives as long as the view is used.
class ViewStorage {
 public:
  sdk::TensorView view(const at::Tensor& tensor) {
    return sdk::TensorView(bridge::as_view(tensor, shape_, strides_));
  }

 private:
  std::vector<std::int64_t> shape_, strides_;
};

// A module of the current layer that GPTQ quantizes.
struct Job {
  std::string module;
  gptq::ActOrder order;
  std::shared_ptr<gptq::Hessian> hessian;
  at::Tensor column_order;  // undefined for actorder none
};

class Gptq {
 public:
  static constexpr const char* torch_version = LLMC_TORCH_VERSION;

  explicit Gptq(sdk::Context& ctx)
      : ctx_(ctx),
        options_{ctx.option<std::int64_t>("block_size"), ctx.option<double>("dampening_frac")},
        actorder_(ctx.option<std::string>("actorder")),
        observer_(ctx.option<std::string>("weight_observer")) {
    if (options_.block_size <= 0) ctx.option_error("block_size", "must be positive");
    if (!(options_.dampening_frac >= 0)) ctx.option_error("dampening_frac", "must be >= 0");
    try {
      gptq::resolve_actorder(actorder_, gptq::WeightScheme{});
    } catch (const std::invalid_argument& e) {
      ctx.option_error("actorder", e.what());
    }
    if (!observer_.empty() && observer_ != "memoryless_minmax" && observer_ != "minmax" &&
        observer_ != "static_minmax" && observer_ != "mse" && observer_ != "memoryless_mse" &&
        observer_ != "imatrix_mse") {
      ctx.option_error("weight_observer", "expected memoryless_minmax, minmax, static_minmax, mse or imatrix_mse, "
                                          "got \"" + observer_ + "\"");
    }
  }

  // Resolves every module's column order, so that a conflict stops the run before any layer.
  void initialize(const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      const std::string name(module.name());
      if (module.kind() != sdk::ModuleKind::linear) {
        ctx_.log_debug(name + ": not a Linear, skipped");
        continue;
      }
      if (!module.scheme_json()) continue;
      std::optional<gptq::WeightScheme> scheme;
      try {
        scheme = gptq::parse_weight_scheme(*module.scheme_json());
      } catch (const std::invalid_argument& e) {
        throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": " + e.what());
      }
      if (!scheme) continue;
      try {
        orders_[name] = gptq::resolve_actorder(actorder_, *scheme);
      } catch (const std::invalid_argument& e) {
        ctx_.option_error("actorder", std::string(e.what()) + " (module " + name + ")");
      }
      record_actorder(module, *scheme);
      record_observer(module);
    }
    if (orders_.empty()) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT,
                       "gptq: none of the modifier's " + std::to_string(modules.size()) +
                           " modules is a Linear with a weight scheme to quantize: check scheme, weights and targets");
    }
  }

  void calibrate(sdk::Layer&, const sdk::CalibrationBatch& batch) {
    std::vector<gptq::ModuleInput> inputs;
    for (const sdk::Activation activation : batch) {
      if (!orders_.contains(activation.module())) continue;
      inputs.push_back({std::string(activation.module()), bridge::as_tensor(activation.input().raw())});
    }
    try {
      hessians_.add(inputs, batch.sequences());
    } catch (const std::invalid_argument& e) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, std::string("gptq: ") + e.what());
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    struct Release {  // the layer's Hessians go, whatever happens
      gptq::LayerHessians& hessians;
      ~Release() { hessians.clear(); }
    } release{hessians_};
    const auto start = std::chrono::steady_clock::now();
    std::vector<Job> jobs = record_qparams(layer, modules);
    hessians_.clear();  // the jobs hold what is left
    double layer_loss = 0;
    for (Job& job : jobs) layer_loss += quantize(layer, job);
    if (!jobs.empty()) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ctx_.log_info(std::string(layer.name()) + ": GPTQ on " + std::to_string(jobs.size()) + " modules, mean loss " +
                    format_number("%.4g", layer_loss / static_cast<double>(jobs.size())) + ", " +
                    format_number("%.2f", seconds) + " s");
    }
  }

  void finalize() {
    std::string summary = "GPTQ quantized " + std::to_string(modules_) + " modules";
    if (modules_ > 0) summary += ", mean loss " + format_number("%.4g", loss_ / static_cast<double>(modules_));
    summary += "; Cholesky fallbacks: " + std::to_string(fallbacks_.size());
    ctx_.log_info(summary);
    if (!fallbacks_.empty()) {
      std::string names;
      for (std::size_t i = 0; i < fallbacks_.size() && i < 10; ++i) names += (i ? ", " : "") + fallbacks_[i];
      if (fallbacks_.size() > 10) names += ", and " + std::to_string(fallbacks_.size() - 10) + " more";
      ctx_.log_warning("the Hessian of " + std::to_string(fallbacks_.size()) + " of " + std::to_string(modules_) +
                       " modules was not positive definite: they were rounded to nearest instead (the scheme is "
                       "unchanged). Consider a larger dampening_frac or more calibration samples. Modules: " + names);
    }
  }

 private:
  // What the checkpoint's quantization_config says of the group's actorder, as the reference's
  // resolve_quantization_config writes it: the scheme's own, else the recipe key ("static" included).
  void record_actorder(const sdk::Module& module, const gptq::WeightScheme& scheme) {
    const std::int32_t group = module.group_index();
    if (group < 0 || !recorded_groups_.insert(group).second || (actorder_ == "static" && scheme.actorder)) return;
    ctx_.set_weight_arg(group, "actorder", actorder_ == "none" ? "null" : "\"" + actorder_ + "\"");
  }

  // weight_observer rewrites the group's scheme, as the reference's _apply_observer_overrides does: the config
  // records it, and the host gathers what it observes with (imatrix_mse: the importance of the inputs).
  void record_observer(const sdk::Module& module) {
    const std::int32_t group = module.group_index();
    if (observer_.empty() || group < 0 || !observer_groups_.insert(group).second) return;
    ctx_.set_weight_arg(group, "observer", "\"" + observer_ + "\"");
  }

  // Phase one of compress: every module's Hessian, column order and qparams (observed on the weights as
  // they are now, before GPTQ changes any: tensor_group siblings share a global scale from them).
  std::vector<Job> record_qparams(sdk::Layer& layer, const sdk::ModuleList& modules) {
    std::vector<Job> jobs;
    for (const sdk::Module module : modules) {
      const std::string name(module.name());
      const auto order = orders_.find(name);
      if (order == orders_.end()) {
        ctx_.log_debug(name + ": no weight quantization, skipped");
        continue;
      }
      Job job{name, order->second, hessians_.find(name), {}};
      if (!job.hessian) {
        throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT,
                         name + ": no calibration data reached this module; GPTQ needs its inputs");
      }
      const at::Tensor& hessian = job.hessian->normalized();
      if (job.order != gptq::ActOrder::none) job.column_order = gptq::activation_order(hessian);
      layer.quant_weight(name);
      jobs.push_back(std::move(job));
    }
    return jobs;
  }

  // Phase two: GPTQ on one module's weight, written back in place. Returns its loss.
  double quantize(sdk::Layer& layer, Job& job) {
    const auto start = std::chrono::steady_clock::now();
    const sdk::TensorView view = layer.tensor(job.module, "weight", sdk::Access::write);
    const sdk::DType dtype = view.dtype();
    if (view.ndim() != 2 || (dtype != sdk::float32 && dtype != sdk::bfloat16 && dtype != sdk::float16)) {
      throw sdk::Error(LLMC_ERROR_UNSUPPORTED, job.module + ".weight is " + dtype.name() + " with " +
                                                   std::to_string(view.ndim()) +
                                                   " dimensions; GPTQ takes 2-D float32, bfloat16 or float16");
    }
    at::Tensor weight = bridge::as_tensor(view.raw());
    // The last module sharing a Hessian takes it; the others work on a copy (GPTQ overwrites it).
    at::Tensor hessian = job.hessian.use_count() > 1 ? job.hessian->normalized().clone() : job.hessian->normalized();
    job.hessian.reset();

    ViewStorage values_storage, out_storage, columns_storage;
    const gptq::ColumnQuantizer fake_quantize = [&](const at::Tensor& values, const at::Tensor& columns,
                                                    const at::Tensor& out) {
      layer.fake_quantize(job.module, values_storage.view(values), out_storage.view(out),
                          columns_storage.view(columns));
    };
    const std::optional<at::Tensor> order =
        job.column_order.defined() ? std::optional<at::Tensor>(job.column_order) : std::nullopt;
    gptq::GptqResult result;
    try {
      result = gptq::gptq_quantize(weight.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true), std::move(hessian),
                                   order, options_, fake_quantize);
    } catch (const std::invalid_argument& e) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, job.module + ": " + e.what());
    }
    weight.copy_(result.weight);  // round to nearest even, as the reference's .to(weight dtype)

    const double milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (result.identity_fallback) {
      fallbacks_.push_back(job.module);
      ctx_.log_warning(job.module + ": the Hessian is not positive definite after dampening; rounded to nearest "
                                    "(identity inverse Hessian) as the reference does");
    }
    ctx_.log_debug(job.module + ": GPTQ loss " + format_number("%.6g", result.loss) + " (actorder " +
                   std::string(gptq::to_string(job.order)) + ", " + format_number("%.1f", milliseconds) + " ms)");
    ++modules_;
    loss_ += result.loss;
    return result.loss;
  }

  sdk::Context& ctx_;
  gptq::GptqOptions options_;
  std::string actorder_;
  std::string observer_;
  std::map<std::string, gptq::ActOrder, std::less<>> orders_;  // the modules GPTQ quantizes
  gptq::LayerHessians hessians_;                               // the current layer's
  std::int64_t modules_ = 0;                                   // quantized so far
  double loss_ = 0;                                            // their summed losses
  std::vector<std::string> fallbacks_;                         // modules rounded without GPTQ
  std::set<std::int32_t> recorded_groups_;                     // groups whose actorder the config records
  std::set<std::int32_t> observer_groups_;                     // groups whose observer weight_observer set
};

}  // namespace

LLMC_CPP_PLUGIN(Gptq, gptq, "1.0.0", "GPTQ weight quantization with Hessians from calibration data (GPTQModifier)",
                LLMC_CAP_QUANTIZES | LLMC_CAP_EDITS_WEIGHTS, options)
