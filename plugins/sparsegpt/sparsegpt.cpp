// sparsegpt: one-shot pruning with second-order error feedback, LLM Compressor's SparseGPTModifier.
//
// Per decoder layer, calibrate accumulates the Hessian of every target Linear's inputs (one for the
// modules that read the same tensor: q/k/v_proj, gate/up_proj), and compress prunes each weight block
// by block, updating the weights kept to compensate (sparsify.h has the math). The pruned weights are
// written back, so later modifiers and the next layers' calibration see them. Only Linear modules are
// pruned (the reference prunes the Linear and Conv modules inside its targets).
//
// Recipe keys besides the host's `targets` and `ignore` (names and defaults of the reference):
//   sparsity                fraction pruned, in [0, 1); required
//   sparsity_per_layer      one sparsity per decoder layer index (the reference's list form); modules
//                           outside the decoder layers keep `sparsity`; [] = `sparsity` everywhere
//   mask_structure          "0:0" unstructured, or "N:M" (N of every M consecutive weights of a row)
//   block_size              128; with N:M a multiple of M
//   dampening_frac          0.01: H += dampening_frac * mean(diag(H)) * I before inverting
//   preserve_sparsity_mask  false; true keeps the weights' existing zeros and adds to them
#include <llmc/plugin.hpp>
#include <llmc/pruning.hpp>
#include <llmc/torch.h>

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsify.h"

namespace {

namespace sdk = llmc::sdk;
using llmc::sparsegpt::Hessian;
using llmc::sparsegpt::InverseHessian;
namespace pruning = llmc::sdk::pruning;
using llmc::sparsegpt::SparsifyOptions;

constexpr llmc_option_spec options[] = {
    sdk::float_option("sparsity", sdk::required, "fraction of each Linear's weights pruned, in [0, 1)"),
    sdk::float_list_option("sparsity_per_layer", "[]",
                           "one sparsity per decoder layer index, replacing `sparsity` in the layers; [] = none"),
    sdk::string_option("mask_structure", R"("0:0")",
                       "\"0:0\" = unstructured; \"N:M\" = N of every M consecutive weights of a row, e.g. \"2:4\""),
    sdk::int_option("block_size", "128", "columns pruned together before their error reaches later columns"),
    sdk::float_option("dampening_frac", "0.01", "added to the Hessian's diagonal, as a fraction of its mean"),
    sdk::bool_option("preserve_sparsity_mask", "false", "keep the weights' existing zeros and extend them"),
};

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

SparsifyOptions read_options(const sdk::Context& ctx) {
  SparsifyOptions options;
  options.sparsity = pruning::checked_sparsity(ctx, "sparsity", ctx.option<double>("sparsity"));
  options.mask = pruning::read_mask_structure(ctx);
  options.block_size = ctx.option<std::int64_t>("block_size");
  if (options.block_size <= 0) ctx.option_error("block_size", "must be positive");
  if (!options.mask.unstructured() && options.block_size % options.mask.group != 0) {
    ctx.option_error("block_size", "must be a multiple of M = " + std::to_string(options.mask.group) +
                                       " of mask_structure, so that no N:M group straddles two blocks");
  }
  options.preserve_sparsity_mask = ctx.option<bool>("preserve_sparsity_mask");
  return options;
}

double read_dampening_frac(const sdk::Context& ctx) {
  const double dampening_frac = ctx.option<double>("dampening_frac");
  if (!(dampening_frac >= 0.0)) ctx.option_error("dampening_frac", format("must be >= 0, got %g", dampening_frac));
  return dampening_frac;
}

// The Hessian of one input tensor of a layer, shared by the modules that read it.
struct SharedHessian {
  sdk::OwnedTensor storage;           // the matrix, counted against the run's memory budget
  Hessian hessian;                    // views `storage`
  std::vector<std::string> modules;   // the modules reading this input, in calibration order
  const void* input = nullptr;        // the input's memory in batch `batch`
  std::int64_t first_batch = -1;      // the batch where it was created
  std::int64_t batch = -1;            // the last batch accumulated
};

// A layer's Hessians, one per distinct input.
struct LayerHessians {
  std::vector<std::unique_ptr<SharedHessian>> shared;
  std::map<std::string, SharedHessian*, std::less<>> by_module;
};

class SparseGpt {
 public:
  static constexpr const char* torch_version = LLMC_TORCH_VERSION;

  explicit SparseGpt(sdk::Context& ctx)
      : ctx_(ctx),
        options_(read_options(ctx)),
        dampening_frac_(read_dampening_frac(ctx)),
        layer_sparsity_(pruning::read_layer_sparsity(ctx)) {}

  void initialize(const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      linear_[std::string(module.name())] = module.kind() == sdk::ModuleKind::linear;
      pruning::check_pruned_module(ctx_, layer_sparsity_, module);
    }
  }

  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    LayerHessians& hessians = layers_[layer.index()];
    for (const sdk::Activation activation : batch) {
      if (!is_linear(activation.module())) continue;
      const sdk::TensorView input = activation.input();
      SharedHessian& shared = hessian_for(hessians, activation.module(), input, batch.index());
      if (shared.batch == batch.index()) continue;  // accumulated from this input for a sibling module
      shared.batch = batch.index();
      shared.input = input.data_ptr();
      llmc::sparsegpt::accumulate_hessian(shared.hessian, llmc::torch_bridge::as_tensor(input.raw()),
                                          batch.sequences());
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    const auto found = layers_.find(layer.index());
    LayerHessians hessians;
    if (found != layers_.end()) {
      hessians = std::move(found->second);
      layers_.erase(found);
    }
    std::map<const SharedHessian*, InverseHessian> inverses;
    for (const sdk::Module module : modules) {
      const std::string name(module.name());
      if (module.kind() != sdk::ModuleKind::linear) {
        ctx_.log_debug("skipping " + name + ": not a Linear module");
        continue;
      }
      const auto shared = hessians.by_module.find(name);
      if (shared == hessians.by_module.end()) {
        throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": no calibration input reached it; SparseGPT needs "
                                                             "calibration data");
      }
      auto inverse = inverses.find(shared->second);
      if (inverse == inverses.end()) inverse = inverses.emplace(shared->second, invert(*shared->second)).first;
      prune(layer, module, shared->second->hessian.samples, inverse->second);
    }
  }

  void finalize() {
    std::size_t uncompressed = 0;
    for (const auto& [index, hessians] : layers_) uncompressed += hessians.by_module.size();
    if (uncompressed != 0) {
      throw sdk::Error(LLMC_ERROR_INTERNAL, std::to_string(uncompressed) + " modules were calibrated but never compressed");
    }
    std::string fallback;
    if (fallbacks_ != 0) {
      fallback = "; " + std::to_string(fallbacks_) + " of them without error feedback (Hessian not positive definite)";
    }
    ctx_.log_info("pruned " + std::to_string(modules_) + " Linear modules: sparsity " + pruning::percent(zeros_, total_) + " (" +
                  std::to_string(zeros_) + " of " + std::to_string(total_) + " weights are zero)" + fallback);
  }

 private:
  bool is_linear(std::string_view module) const {
    const auto found = linear_.find(module);
    return found != linear_.end() && found->second;
  }

  double sparsity_of(std::int32_t layer) const {
    return pruning::layer_sparsity_or(layer_sparsity_, layer, options_.sparsity);
  }

  // The Hessian `module` accumulates into: its own from earlier batches, or, for its first batch, the
  // one a module reading the same input (`input`) created in this batch, or a new one.
  SharedHessian& hessian_for(LayerHessians& hessians, std::string_view module, const sdk::TensorView& input,
                             std::int64_t batch) const {
    if (const auto found = hessians.by_module.find(module); found != hessians.by_module.end()) {
      SharedHessian& shared = *found->second;
      if (shared.batch == batch && shared.input != input.data_ptr()) {
        throw sdk::Error(LLMC_ERROR_INTERNAL, std::string(module) + " and " + shared.modules.front() +
                                                  " read the same input until batch " + std::to_string(batch) +
                                                  ", where they do not");
      }
      return shared;
    }
    SharedHessian* shared = nullptr;
    for (const auto& candidate : hessians.shared) {
      if (candidate->first_batch == batch && candidate->input == input.data_ptr()) shared = candidate.get();
    }
    if (shared == nullptr) {
      const std::int64_t columns = input.shape().back();
      auto created = std::make_unique<SharedHessian>();
      created->storage = ctx_.allocate(sdk::float32, {columns, columns});
      created->hessian.matrix = llmc::torch_bridge::as_tensor(created->storage.view().raw());
      created->first_batch = batch;
      shared = hessians.shared.emplace_back(std::move(created)).get();
    }
    shared->modules.emplace_back(module);
    hessians.by_module.emplace(std::string(module), shared);
    return *shared;
  }

  // Inverts `shared`'s Hessian (releasing it); warns, naming its modules, when that falls back to identity.
  InverseHessian invert(SharedHessian& shared) {
    InverseHessian inverse = llmc::sparsegpt::invert_hessian(shared.hessian.matrix, dampening_frac_);
    shared.hessian.matrix = at::Tensor();
    shared.storage.reset();
    if (!inverse.factorized) {
      std::string names;
      for (const std::string& module : shared.modules) names += (names.empty() ? "" : ", ") + module;
      ctx_.log_warning(names + ": the Hessian is not positive definite; pruning by magnitude without error "
                               "feedback. Increase dampening_frac or the calibration samples, or shuffle the dataset");
      fallbacks_ += static_cast<std::int64_t>(shared.modules.size());
    }
    return inverse;
  }

  void prune(sdk::Layer& layer, const sdk::Module& module, std::int64_t samples, const InverseHessian& inverse) {
    const std::string name(module.name());
    const sdk::TensorView view = layer.tensor(name, "weight", sdk::Access::write);
    const sdk::DType dtype = view.dtype();
    if (view.ndim() != 2 || (dtype != sdk::float32 && dtype != sdk::bfloat16 && dtype != sdk::float16)) {
      throw sdk::Error(LLMC_ERROR_UNSUPPORTED, name + ".weight is " + std::to_string(view.ndim()) + "-D " +
                                                   dtype.name() + "; SparseGPT prunes 2-D float32, bfloat16 or float16");
    }
    const std::int64_t columns = view.shape()[1];
    if (columns != inverse.upper.size(0)) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": in_features " + std::to_string(columns) +
                                                        " differs from its inputs' width " +
                                                        std::to_string(inverse.upper.size(0)));
    }
    if (!options_.mask.unstructured() && columns % options_.mask.group != 0) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": in_features " + std::to_string(columns) +
                                                        " is not a multiple of M = " +
                                                        std::to_string(options_.mask.group) + " (mask_structure)");
    }
    SparsifyOptions options = options_;
    options.sparsity = sparsity_of(module.layer_index());
    at::Tensor weight = llmc::torch_bridge::as_tensor(view.raw());
    llmc::sparsegpt::Sparsified result;
    try {
      result = llmc::sparsegpt::sparsify_weight(weight, inverse, options);
    } catch (const std::invalid_argument& e) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": " + e.what());
    }
    weight.copy_(result.weight);
    const std::int64_t zeros = weight.eq(0).sum().item<std::int64_t>();
    ctx_.log_debug(name + ": sparsity " + pruning::percent(zeros, weight.numel()) + format(", loss %.6g", result.loss) +
                   ", " + std::to_string(samples) + " samples");
    zeros_ += zeros;
    total_ += weight.numel();
    ++modules_;
  }

  sdk::Context& ctx_;
  SparsifyOptions options_;
  double dampening_frac_;
  std::vector<double> layer_sparsity_;               // sparsity_per_layer
  std::map<std::string, bool, std::less<>> linear_;  // every module of the modifier: is it a Linear?
  std::map<std::int32_t, LayerHessians> layers_;     // calibrated layers awaiting compress
  std::int64_t zeros_ = 0;     // zero weights in the pruned modules so far
  std::int64_t total_ = 0;     // weights in the pruned modules so far
  std::int64_t modules_ = 0;   // modules pruned so far
  std::int64_t fallbacks_ = 0; // modules pruned without error feedback
};

}  // namespace

LLMC_CPP_PLUGIN(SparseGpt, sparsegpt, "1.0.0",
                "SparseGPT one-shot pruning with Hessian error feedback, unstructured or N:M (SparseGPTModifier)",
                LLMC_CAP_EDITS_WEIGHTS, options)
