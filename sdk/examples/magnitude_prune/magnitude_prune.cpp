// magnitude_prune: data-free magnitude pruning of Linear weights, the SDK's example out-of-tree plugin.
//
// Recipe keys (besides the host's `targets` and `ignore`):
//   sparsity        float in [0, 1), default 0.5. Unstructured pruning: in every output row, the
//                   int(in_features * sparsity) weights of smallest |w| become zero (Wanda's per-row
//                   rule with unit activations).
//   mask_structure  "0:0" (default) for unstructured, or "N:M": in every group of M consecutive input
//                   columns of a row, the N weights of smallest |w| become zero. As in the reference's
//                   SparseGPT and Wanda, N:M prunes N of every M ("2:4" zeroes 2 of every 4), and
//                   `sparsity` is then unused. in_features must be a multiple of M.
// Ties in |w| prune the lower column first (the reference's stable sort); NaN counts as the largest
// magnitude. Within `targets`, only Linear modules are pruned (the reference's pruning modifiers do
// the same); others are skipped. A weight (bfloat16, float16 or float32) is read through the host as
// float32, pruned there and copied back: float32 holds every bfloat16/float16 value exactly, so the
// weights kept are unchanged bit for bit.
#include <llmc/plugin.hpp>
#include <llmc/pruning.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace {

namespace sdk = llmc::sdk;

constexpr llmc_option_spec options[] = {
    sdk::float_option("sparsity", "0.5",
                      "fraction of each row's weights set to zero, in [0, 1) (unstructured only)"),
    sdk::string_option("mask_structure", R"("0:0")",
                       "\"0:0\" = unstructured per row; \"N:M\" = zero the N smallest of every M "
                       "consecutive weights, e.g. \"2:4\""),
};

// Magnitude for ordering: NaN sorts as the largest.
float magnitude(float w) { return std::isnan(w) ? std::numeric_limits<float>::infinity() : std::fabs(w); }

// Sets to zero the `count` entries of `values` of smallest magnitude, the lower index first among
// equal magnitudes. `order` is scratch space.
void prune_smallest(std::span<float> values, std::size_t count, std::vector<std::size_t>& order) {
  if (count == 0) return;
  order.resize(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto nth = order.begin() + static_cast<std::ptrdiff_t>(count);
  std::nth_element(order.begin(), nth, order.end(), [&](std::size_t a, std::size_t b) {
    const float ma = magnitude(values[a]), mb = magnitude(values[b]);
    return ma < mb || (ma == mb && a < b);
  });
  for (auto it = order.begin(); it != nth; ++it) values[*it] = 0.0f;
}

class MagnitudePrune {
 public:
  explicit MagnitudePrune(sdk::Context& ctx)
      : ctx_(ctx), sparsity_(sdk::pruning::checked_sparsity(ctx, "sparsity", ctx.option<double>("sparsity"))), mask_(sdk::pruning::read_mask_structure(ctx)) {}

  // Prunes the layer's Linear weights in place; logs the layer's sparsity at debug level.
  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    std::int64_t zeros = 0, total = 0, pruned = 0;
    for (sdk::Module module : modules) {
      if (module.kind() != sdk::ModuleKind::linear) {
        ctx_.log_debug("skipping " + std::string(module.name()) + ": not a Linear module");
        continue;
      }
      const sdk::TensorView weight = layer.tensor(module.name(), "weight", sdk::Access::write);
      const sdk::OwnedTensor buffer = ctx_.convert(checked_weight(module, weight), sdk::float32);
      const std::span<float> values = buffer.view().values<float>();
      prune(values, weight.shape()[0], weight.shape()[1]);
      ctx_.copy(buffer.view(), weight);
      zeros += std::count(values.begin(), values.end(), 0.0f);
      total += weight.numel();
      ++pruned;
    }
    ctx_.log_debug(std::string(layer.name()) + ": " + std::to_string(pruned) + " Linear modules, sparsity " +
                   sdk::pruning::percent(zeros, total));
    zeros_ += zeros;
    total_ += total;
    modules_ += pruned;
  }

  // Logs the overall sparsity of the pruned weights.
  void finalize() {
    ctx_.log_info("pruned " + std::to_string(modules_) + " Linear modules: sparsity " + sdk::pruning::percent(zeros_, total_) +
                  " (" + std::to_string(zeros_) + " of " + std::to_string(total_) + " weights are zero)");
  }

 private:
  // `weight` if pruning supports it; throws an Error naming the module otherwise.
  const sdk::TensorView& checked_weight(const sdk::Module& module, const sdk::TensorView& weight) const {
    const std::string name(module.name());
    if (weight.ndim() != 2) {
      throw sdk::Error(LLMC_ERROR_UNSUPPORTED, name + ".weight is not 2-D");
    }
    const sdk::DType dtype = weight.dtype();
    if (dtype != sdk::float32 && dtype != sdk::bfloat16 && dtype != sdk::float16) {
      throw sdk::Error(LLMC_ERROR_UNSUPPORTED, name + ".weight is " + dtype.name() +
                                                   "; magnitude_prune handles float32, bfloat16 and float16");
    }
    if (mask_.group != 0 && weight.shape()[1] % mask_.group != 0) {
      throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT,
                       name + ": in_features " + std::to_string(weight.shape()[1]) + " is not a multiple of M = " +
                           std::to_string(mask_.group) + " (mask_structure)");
    }
    return weight;
  }

  // Prunes the row-major [rows, cols] `values` per the mask structure.
  void prune(std::span<float> values, std::int64_t rows, std::int64_t cols) const {
    const auto width = static_cast<std::size_t>(cols);
    const auto group = static_cast<std::size_t>(mask_.group);
    std::vector<std::size_t> order;
    for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
      const std::span<float> row = values.subspan(r * width, width);
      if (group == 0) {
        prune_smallest(row, static_cast<std::size_t>(static_cast<double>(cols) * sparsity_), order);
        continue;
      }
      for (std::size_t c = 0; c < width; c += group) {
        prune_smallest(row.subspan(c, group), static_cast<std::size_t>(mask_.prune), order);
      }
    }
  }

  sdk::Context& ctx_;
  double sparsity_;
  sdk::pruning::MaskStructure mask_;
  std::int64_t zeros_ = 0;    // zero weights in the pruned modules so far
  std::int64_t total_ = 0;    // weights in the pruned modules so far
  std::int64_t modules_ = 0;  // modules pruned so far
};

}  // namespace

LLMC_CPP_PLUGIN(MagnitudePrune, magnitude_prune, "1.0.0",
                "magnitude pruning of Linear weights: unstructured per row, or N:M (e.g. 2:4)",
                LLMC_CAP_EDITS_WEIGHTS, options)
