// wanda: one-shot pruning by weight magnitude times input norm, LLM Compressor's WandaPruningModifier.
//
// Per decoder layer, calibrate accumulates, per input column of every target Linear, the mean over
// calibration samples of the squared norm of its activations (one vector for the modules that read the
// same tensor: q/k/v_proj, gate/up_proj), and compress zeroes, per output row, the weights of smallest
// |W| * sqrt(S) (wanda_prune.h has the math). No other weight changes. The pruned weights are written
// back, so later modifiers and the next layers' calibration see them. Only Linear modules are pruned
// (the reference prunes the Linear and Conv modules inside its targets).
//
// Recipe keys besides the host's `targets` and `ignore` (names and defaults of the reference):
//   sparsity            fraction of every row pruned, in [0, 1); required (unused with N:M)
//   sparsity_per_layer  one sparsity per decoder layer index (the reference's list form); modules
//                       outside the decoder layers keep `sparsity`; [] = `sparsity` everywhere
//   mask_structure      "0:0" unstructured, or "N:M" (N of every M consecutive weights of a row)
#include <llmc/plugin.hpp>
#include <llmc/pruning.hpp>
#include <llmc/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wanda_prune.h"

namespace {

namespace sdk = llmc::sdk;
namespace pruning = llmc::sdk::pruning;
using llmc::wanda::RowScalars;

constexpr llmc_option_spec options[] = {
    sdk::float_option("sparsity", sdk::required, "fraction of each row's weights pruned, in [0, 1)"),
    sdk::float_list_option("sparsity_per_layer", "[]",
                           "one sparsity per decoder layer index, replacing `sparsity` in the layers; [] = none"),
    sdk::string_option("mask_structure", R"("0:0")",
                       "\"0:0\" = unstructured; \"N:M\" = N of every M consecutive weights of a row, e.g. \"2:4\""),
};

// The row scalars of one input tensor of a layer, shared by the modules that read it.
struct SharedScalars {
  RowScalars scalars;
  std::vector<std::string> modules;  // the modules reading this input, in calibration order
  const void* input = nullptr;       // the input's memory in batch `batch`
  std::int64_t first_batch = -1;     // the batch where it was created
  std::int64_t batch = -1;           // the last batch accumulated
};

// A layer's row scalars, one per distinct input.
struct LayerScalars {
  std::vector<std::unique_ptr<SharedScalars>> shared;
  std::map<std::string, SharedScalars*, std::less<>> by_module;
};

class Wanda {
 public:
  static constexpr const char* torch_version = LLMC_TORCH_VERSION;

  explicit Wanda(sdk::Context& ctx)
      : ctx_(ctx),
        sparsity_(pruning::checked_sparsity(ctx, "sparsity", ctx.option<double>("sparsity"))),
        layer_sparsity_(pruning::read_layer_sparsity(ctx)),
        mask_(pruning::read_mask_structure(ctx)) {}

  void initialize(const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      linear_[std::string(module.name())] = module.kind() == sdk::ModuleKind::linear;
      pruning::check_pruned_module(ctx_, layer_sparsity_, module);
    }
  }

  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    LayerScalars& layer_scalars = layers_[layer.index()];
    for (const sdk::Activation activation : batch) {
      if (!is_linear(activation.module())) continue;
      const sdk::TensorView input = activation.input();
      SharedScalars& shared = scalars_for(layer_scalars, activation.module(), input, batch.index());
      if (shared.batch == batch.index()) continue;  // accumulated from this input for a sibling module
      shared.batch = batch.index();
      shared.input = input.data_ptr();
      llmc::wanda::accumulate_row_scalars(shared.scalars, llmc::torch_bridge::as_tensor(input.raw()),
                                          batch.sequences());
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    const auto found = layers_.find(layer.index());
    LayerScalars layer_scalars;
    if (found != layers_.end()) {
      layer_scalars = std::move(found->second);
      layers_.erase(found);
    }
    for (const sdk::Module module : modules) {
      const std::string name(module.name());
      if (module.kind() != sdk::ModuleKind::linear) {
        ctx_.log_debug("skipping " + name + ": not a Linear module");
        continue;
      }
      const auto shared = layer_scalars.by_module.find(name);
      if (shared == layer_scalars.by_module.end()) {
        throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": no calibration input reached it; Wanda needs "
                                                             "calibration data");
      }
      prune(layer, module, shared->second->scalars);
    }
  }

  void finalize() {
    std::size_t uncompressed = 0;
    for (const auto& [index, layer_scalars] : layers_) uncompressed += layer_scalars.by_module.size();
    if (uncompressed != 0) {
      throw sdk::Error(LLMC_ERROR_INTERNAL, std::to_string(uncompressed) + " modules were calibrated but never compressed");
    }
    ctx_.log_info("pruned " + std::to_string(modules_) + " Linear modules: sparsity " + pruning::percent(zeros_, total_) + " (" +
                  std::to_string(zeros_) + " of " + std::to_string(total_) + " weights are zero)");
  }

 private:
  bool is_linear(std::string_view module) const {
    const auto found = linear_.find(module);
    return found != linear_.end() && found->second;
  }

  double sparsity_of(std::int32_t layer) const {
    return pruning::layer_sparsity_or(layer_sparsity_, layer, sparsity_);
  }

  // The row scalars `module` accumulates into: its own from earlier batches, or, for its first batch,
  // those a module reading the same input (`input`) created in this batch, or new ones.
  static SharedScalars& scalars_for(LayerScalars& layer_scalars, std::string_view module, const sdk::TensorView& input,
                                    std::int64_t batch) {
    if (const auto found = layer_scalars.by_module.find(module); found != layer_scalars.by_module.end()) {
      SharedScalars& shared = *found->second;
      if (shared.batch == batch && shared.input != input.data_ptr()) {
        throw sdk::Error(LLMC_ERROR_INTERNAL, std::string(module) + " and " + shared.modules.front() +
                                                  " read the same input until batch " + std::to_string(batch) +
                                                  ", where they do not");
      }
      return shared;
    }
    SharedScalars* shared = nullptr;
    for (const auto& candidate : layer_scalars.shared) {
      if (candidate->first_batch == batch && candidate->input == input.data_ptr()) shared = candidate.get();
    }
    if (shared == nullptr) {
      auto created = std::make_unique<SharedScalars>();
      created->scalars.values = at::zeros({input.shape().back()}, at::kFloat);
      created->first_batch = batch;
      shared = layer_scalars.shared.emplace_back(std::move(created)).get();
    }
    shared->modules.emplace_back(module);
    layer_scalars.by_module.emplace(std::string(module), shared);
    return *shared;
  }

  void prune(sdk::Layer& layer, const sdk::Module& module, const RowScalars& scalars) {
    const std::string name(module.name());
    const sdk::TensorView view = layer.tensor(name, "weight", sdk::Access::write);
    const sdk::DType dtype = view.dtype();
    if (view.ndim() != 2 || (dtype != sdk::float32 && dtype != sdk::bfloat16 && dtype != sdk::float16)) {
      throw sdk::Error(LLMC_ERROR_UNSUPPORTED, name + ".weight is " + std::to_string(view.ndim()) + "-D " +
                                                   dtype.name() + "; Wanda prunes 2-D float32, bfloat16 or float16");
    }
    const std::int64_t columns = view.shape()[1];
    if (columns != scalars.values.size(0)) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": in_features " + std::to_string(columns) +
                                                        " differs from its inputs' width " +
                                                        std::to_string(scalars.values.size(0)));
    }
    if (!mask_.unstructured() && columns % mask_.group != 0) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, name + ": in_features " + std::to_string(columns) +
                                                        " is not a multiple of M = " + std::to_string(mask_.group) +
                                                        " (mask_structure)");
    }
    at::Tensor weight = llmc::torch_bridge::as_tensor(view.raw());
    weight.copy_(llmc::wanda::prune_weight(weight, scalars.values, sparsity_of(module.layer_index()), mask_));
    const std::int64_t zeros = weight.eq(0).sum().item<std::int64_t>();
    ctx_.log_debug(name + ": sparsity " + pruning::percent(zeros, weight.numel()) + ", " + std::to_string(scalars.samples) +
                   " samples");
    zeros_ += zeros;
    total_ += weight.numel();
    ++modules_;
  }

  sdk::Context& ctx_;
  double sparsity_;
  std::vector<double> layer_sparsity_;               // sparsity_per_layer
  pruning::MaskStructure mask_;
  std::map<std::string, bool, std::less<>> linear_;  // every module of the modifier: is it a Linear?
  std::map<std::int32_t, LayerScalars> layers_;      // calibrated layers awaiting compress
  std::int64_t zeros_ = 0;    // zero weights in the pruned modules so far
  std::int64_t total_ = 0;    // weights in the pruned modules so far
  std::int64_t modules_ = 0;  // modules pruned so far
};

}  // namespace

LLMC_CPP_PLUGIN(Wanda, wanda, "1.0.0",
                "Wanda one-shot pruning by |weight| x input norm, unstructured or N:M (WandaPruningModifier)",
                LLMC_CAP_EDITS_WEIGHTS, options)
