// core/pipeline/plugin_costs.cpp
#include "pipeline/plugin_costs.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "pipeline/weight_quantization.h"

namespace llmc::pipeline {
namespace {

constexpr int64_t kBlockSize = 128;  // GPTQ's and SparseGPT's default block_size
constexpr int64_t kAwqGrid = 20;     // AWQ's default n_grid
constexpr double kSparseGptColumnOps = 12;  // SparseGPT's ATen calls per weight column

// Modules reading one tensor (q/k/v, gate/up: fusion_group) share one Hessian or statistic: one per input.
std::vector<const LinearShape*> distinct_inputs(const std::vector<const LinearShape*>& linears, const UnitShape& shape) {
  std::set<std::string> seen;
  std::vector<const LinearShape*> out;
  for (const auto* linear : linears)
    if (seen.insert(fusion_group(linear->name, shape.names).front()).second) out.push_back(linear);
  return out;
}

// float32 in x in Hessians: H += 2 x x^T per token (2 in^2 FLOPs), one per distinct input, held until compress.
Cost hessians(const std::vector<const LinearShape*>& linears, const UnitShape& shape, const LayerCost& layer) {
  Cost cost;
  for (const auto* linear : distinct_inputs(linears, shape)) {
    const double in = static_cast<double>(linear->in);
    cost.seconds += 2 * in * in * layer.tokens.total * linear->active / layer.rates.fp32_flops;
    cost.bytes += static_cast<uint64_t>(in * in * 4);
  }
  return cost;
}

// GPTQ per module [rows, cols]: qparams; the factorization of its cols x cols Hessian; per column a host
// fake-quantize call and in-block updates (rows cols (block - 1) FLOPs in all); between blocks the error
// propagation matmuls (rows cols (cols - block) FLOPs). SparseGPT: the same, with a dozen ATen calls per
// column instead of the host call. Held: float32 copies of the weight (3) and of the Hessian (2).
Cost second_order(const std::vector<const LinearShape*>& linears, const MachineRates& rates, bool quantizes) {
  Cost cost;
  for (const auto* linear : linears) {
    const double rows = static_cast<double>(linear->out), cols = static_cast<double>(linear->in);
    const double block = static_cast<double>(std::min(kBlockSize, linear->in));
    cost.seconds += rates.factor_seconds_for(linear->in);
    cost.seconds += rows * cols * (block - 1) / rates.update_flops;
    cost.seconds += rows * cols * (cols - block) / rates.fp32_flops;
    cost.seconds += quantizes ? linear->elements() * rates.qparams_seconds + cols * rates.column_seconds
                              : cols * kSparseGptColumnOps * rates.op_seconds;
    cost.bytes = std::max(cost.bytes, static_cast<uint64_t>(3 * rows * cols * 4 + 2 * cols * cols * 4));
  }
  return cost;
}

// Wanda and magnitude pruning: a sort of every row, n log n element moves at the memory rate.
Cost row_sorts(const std::vector<const LinearShape*>& linears, const MachineRates& rates) {
  Cost cost;
  for (const auto* linear : linears) {
    const double depth = std::log2(static_cast<double>(std::max<int64_t>(linear->in, 2)));
    cost.seconds += linear->elements() * depth * 8 / rates.memcpy_bytes;
    cost.bytes = std::max(cost.bytes, static_cast<uint64_t>(linear->elements() * 4 * 3));
  }
  return cost;
}

double qparams_seconds(const std::vector<const LinearShape*>& linears, const MachineRates& rates) {
  double seconds = 0;
  for (const auto* linear : linears) seconds += linear->elements() * rates.qparams_seconds;
  return seconds;
}

int64_t option_int(const ModifierRun& run, const char* key, int64_t fallback) {
  const auto it = run.options.find(key);
  const auto* value = it == run.options.end() ? nullptr : std::get_if<int64_t>(&it->second.value);
  return value ? *value : fallback;
}

// AWQ per layer: every mapping's parent (the attention block, the MLP, down_proj, and o_proj without GQA)
// runs once for reference outputs and once per grid point, each grid point fake-quantizing the balance
// weights. Held: one parent's outputs for every sample, twice, and a forward pass's scratch.
Cost awq(const ModifierRun& run, const ClaimedLinears& linears, const UnitShape& shape, const LayerCost& layer) {
  double parents = layer.forward_seconds(shape);
  for (const auto& linear : shape.linears) {
    const bool down = linear.name.ends_with("down_proj") || linear.name.ends_with(".w2");
    const bool output = linear.name.ends_with("o_proj") && layer.arch.num_kv_heads == layer.arch.num_heads;
    if (down || output) parents += layer.linear_seconds(linear);
  }
  const auto grid = static_cast<double>(option_int(run, "n_grid", kAwqGrid));
  Cost cost;
  cost.seconds = (grid + 1) * parents + (2 * grid + 1) * qparams_seconds(linears.quantized, layer.rates);
  cost.bytes = static_cast<uint64_t>(2 * layer.tokens.total * layer.hidden() * layer.dtype_size) + layer.forward_scratch();
  return cost;
}

}  // namespace

Cost calibrate_cost(const std::string& plugin, const ClaimedLinears& linears, const UnitShape& shape,
                    const LayerCost& layer) {
  if (plugin == "gptq") return hessians(linears.quantized, shape, layer);
  if (plugin == "sparsegpt") return hessians(linears.all, shape, layer);
  if (plugin == "awq") {  // every sample's inputs of its modules, for module_forward in compress
    double width = 0;
    for (const auto* linear : distinct_inputs(linears.all, shape)) width += static_cast<double>(linear->in);
    return {0, static_cast<uint64_t>(layer.tokens.total * width * layer.dtype_size)};
  }
  return {};
}

Cost compress_cost(const ModifierRun& run, const ClaimedLinears& linears, const UnitShape& shape,
                   const MachineRates& rates, const LayerCost* layer, bool& known) {
  const std::string& plugin = run.modifier->plugin;
  known = true;
  if (plugin == "gptq") return second_order(linears.quantized, rates, true);
  if (plugin == "sparsegpt") return second_order(linears.all, rates, false);
  if (plugin == "wanda" || plugin == "magnitude_prune") return row_sorts(linears.all, rates);
  if (plugin == "awq" && layer) return awq(run, linears, shape, *layer);
  if (plugin == "rtn") return {qparams_seconds(linears.quantized, rates), 0};
  if (plugin == "smoothquant") return {};  // scales from its statistics, folded into a few weights
  known = false;
  return {};
}

}  // namespace llmc::pipeline
