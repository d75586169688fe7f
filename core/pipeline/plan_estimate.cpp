// core/pipeline/plan_estimate.cpp
//
// Time: each stage's work (FLOPs, elements, bytes) over the rate measured for that kind of work. Memory: the
// process baseline (VmRSS after the probes) plus what each stage holds at its peak. The counts follow the
// code they estimate: exec/ (forward passes: layer_cost.h), layer_calibration.cpp and activation_cache.h,
// layer_unit.cpp (copies and writes), and the stock plugins (plugin_costs.h).
#include "pipeline/plan_estimate.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>

#include "exec/weight_source.h"
#include "model/architecture.h"
#include "pipeline/activation_cache.h"
#include "pipeline/layer_cost.h"
#include "pipeline/machine_probes.h"
#include "pipeline/plugin_costs.h"
#include "pipeline/quantization_plan.h"
#include "pipeline/units.h"

namespace llmc::pipeline {
namespace {

/// A stage while it is summed: its seconds by part ("forward", "Hessians", ...) and its peak above baseline.
struct StageSum {
  PlanStage stage;
  std::vector<std::pair<std::string, double>> parts;
  std::set<int32_t> units;

  void add(int32_t unit, const std::string& part, double seconds) {
    units.insert(unit);
    const auto it = std::find_if(parts.begin(), parts.end(), [&](const auto& p) { return p.first == part; });
    if (it == parts.end()) parts.emplace_back(part, seconds);
    else it->second += seconds;
  }
  void hold(uint64_t bytes) { stage.peak_bytes = std::max(stage.peak_bytes, bytes); }
};

// What quantizing a weight holds beside it: where the one-pass kernels apply (core/quant/weight_kernels.h: int
// up to 8 bits and FP8, per tensor, channel or group) its values in a byte each and their packing; otherwise
// compressed-tensors' ops, three copies of the weight in its dtype (scaled, clamped, rounded).
double quantize_scratch(const nlohmann::json& weights, double elements, double bytes) {
  const std::string type = weights.value("type", "int");
  const double bits = weights.value("num_bits", 8.0);
  const std::string strategy = weights.value("strategy", "tensor");
  const bool fused = (type == "int" ? bits <= 8 : bits == 8) &&
                     (strategy == "tensor" || strategy == "channel" || strategy == "group");
  return fused ? elements * (1 + bits / 8) : 3 * bytes;
}

bool is_expert(std::string_view name) { return name.find(".experts.") != std::string_view::npos; }

const nlohmann::json* weight_scheme(const ModifierRun& run, const std::string& module) {
  const auto it = run.schemes_by_module.find(module);
  if (it == run.schemes_by_module.end()) return nullptr;
  const auto weights = it->second->find("weights");
  return weights == it->second->end() || !weights->is_object() ? nullptr : &*weights;
}

bool has_capability(const ModifierRun& run, uint64_t capability) {
  return (run.library->descriptor().capabilities & capability) != 0;
}

Tokens count_tokens(const std::vector<int64_t>& samples) {
  Tokens tokens;
  for (const int64_t t : samples) {
    tokens.total += static_cast<double>(t);
    tokens.squares += static_cast<double>(t) * static_cast<double>(t);
    tokens.longest = std::max(tokens.longest, t);
  }
  return tokens;
}

class Estimator {
 public:
  Estimator(const PlanInputs& inputs, const MachineRates& rates, const model::Architecture* arch, at::ScalarType dtype)
      : in_(inputs), rates_(rates) {
    if (arch)
      layer_.emplace(LayerCost{rates, *arch, count_tokens(inputs.sample_tokens), static_cast<double>(c10::elementSize(dtype)),
                               exec::widens(exec::resolve_matmul_math(inputs.matmul, dtype), dtype)});
  }

  RunPlan estimate(double startup_seconds) {
    measured("start-up and probes", startup_seconds);
    if (layer_) {
      measured("tokenize calibration data", in_.tokenize_seconds);
      embed();
    }
    const std::vector<Unit> units = plan_units(*in_.map);
    for (const Unit& unit : units) {
      const UnitShape shape = describe(unit);
      if (layer_ && unit.index >= 0) calibrated_layer(unit, shape);
      else data_free_unit(unit, shape);
    }
    std::stable_sort(stages_.begin(), stages_.end(), [](const auto& a, const auto& b) { return rank(a) < rank(b); });
    RunPlan plan;
    plan.rates = rates_;
    plan.units = units.size();
    plan.samples = in_.sample_tokens.size();
    plan.tokens = layer_ ? static_cast<uint64_t>(layer_->tokens.total) : 0;
    for (auto& sum : stages_) plan.stages.push_back(finish(sum));
    return plan;
  }

 private:
  StageSum& stage(const std::string& name, const std::string& event, const std::string& modifier = "") {
    const auto it = std::find_if(stages_.begin(), stages_.end(), [&](const auto& s) { return s.stage.name == name; });
    if (it != stages_.end()) return *it;
    StageSum& sum = stages_.emplace_back();
    sum.stage = {name, event, modifier, 0, 0, "", false};
    return sum;
  }

  void measured(const std::string& name, double seconds) {
    StageSum& sum = stage(name, "");
    sum.stage.seconds = seconds;
    sum.stage.measured = true;
  }

  // Stages in run order: before the units, then per unit its load, modifiers (in recipe order), propagation, write.
  static int rank(const StageSum& sum) {
    static const std::vector<std::string> order = {"", "load", "calibrate", "propagate", "write"};
    const std::string& event = sum.stage.event == "compress" ? order[2] : sum.stage.event;
    return static_cast<int>(std::find(order.begin(), order.end(), event) - order.begin());
  }

  PlanStage finish(StageSum& sum) const {
    PlanStage out = sum.stage;
    out.peak_bytes += rates_.baseline_rss;
    std::string work = sum.stage.work + (sum.units.empty() ? "" : fmt::format("{} units", sum.units.size()));
    for (const auto& [part, seconds] : sum.parts) {
      out.seconds += seconds;
      work += fmt::format("{}{} {:.2f} s", work.empty() ? "" : "; ", part, seconds);
    }
    out.work = std::move(work);
    return out;
  }

  UnitShape describe(const Unit& unit) const {
    UnitShape shape;
    for (const size_t m : unit.modules) {
      const model::ModuleEntry& module = in_.map->modules[m];
      shape.names.push_back(module.name);
      for (const auto& [suffix, tensor] : module.tensors) {
        const auto ref = in_.checkpoint->find(tensor);
        if (!ref) continue;
        shape.bytes += ref->info->nbytes;
        shape.elements += static_cast<double>(ref->info->numel());
        if (module.kind != LLMC_MODULE_LINEAR || suffix != "weight" || ref->info->shape.size() != 2) continue;
        LinearShape linear{module.name, ref->info->shape[1], ref->info->shape[0], 1.0, ref->info->nbytes};
        if (layer_ && layer_->arch.num_experts > 0 && is_expert(module.name))
          linear.active = static_cast<double>(layer_->arch.top_k) / static_cast<double>(layer_->arch.num_experts);
        shape.linears.push_back(std::move(linear));
      }
    }
    return shape;
  }

  // The activation cache's bytes (samples x tokens x hidden x dtype), and whether it stays in memory
  // (ActivationCache's rule); spilled, a layer holds one sample read and one written.
  uint64_t cache_bytes() const { return static_cast<uint64_t>(layer_->tokens.total * layer_->hidden() * layer_->dtype_size); }
  bool cache_in_memory() const { return ActivationCache::fits_in_memory(cache_bytes(), in_.memory_budget); }
  uint64_t sample_bytes() const {
    return static_cast<uint64_t>(static_cast<double>(layer_->tokens.longest) * layer_->hidden() * layer_->dtype_size);
  }
  uint64_t cache_resident() const {
    if (!layer_) return 0;
    return cache_in_memory() ? cache_bytes() + sample_bytes() : 2 * sample_bytes();
  }

  // The embedding table read and converted once, then a gather per token; held: the table (its mapped pages
  // and its copy while converting) and the cache (a chunk of it when spilled).
  void embed() {
    StageSum& sum = stage("embed calibration samples", "");
    const auto* embedding = in_.map->find(std::string(layer_->arch.table->embedding));
    uint64_t table = 0;
    if (embedding)
      for (const auto& [suffix, tensor] : embedding->tensors)
        if (const auto ref = in_.checkpoint->find(tensor)) table += ref->info->nbytes;
    sum.add(-1, "read table", rates_.read_seconds(table));
    sum.add(-1, "convert and gather", static_cast<double>(table + cache_bytes()) / rates_.memcpy_bytes);
    const uint64_t share = ActivationCache::memory_share(in_.memory_budget);
    sum.hold(2 * table + (cache_in_memory() ? cache_bytes() : std::min(cache_bytes(), share)));
  }

  // The Linears of `unit` that `run` claims (only Linears have a shape), and those its schemes quantize.
  ClaimedLinears claimed(const ModifierRun& run, const Unit& unit, const UnitShape& shape) const {
    ClaimedLinears out;
    for (const auto& info : run.modules_in(unit.modules)) {
      const LinearShape* linear = shape.linear(info.name);
      if (!linear) continue;
      out.all.push_back(linear);
      if (weight_scheme(run, info.name)) out.quantized.push_back(linear);
    }
    return out;
  }

  // Bytes of the unit's Linears that some modifier claims: the unit maps and reads them; the tensors no
  // modifier claims are copied file to file, through no memory of the process.
  uint64_t claimed_bytes(const Unit& unit, const UnitShape& shape) const {
    std::set<std::string> names;
    uint64_t bytes = 0;
    for (const ModifierRun& run : *in_.runs)
      for (const auto* linear : claimed(run, unit, shape).all)
        if (names.insert(linear->name).second) bytes += linear->bytes;
    return bytes;
  }

  // Bytes of the weights `run` may edit: the unit copies each on its first write.
  static uint64_t edited_bytes(const ModifierRun& run, const ClaimedLinears& linears) {
    if (!has_capability(run, LLMC_CAP_EDITS_WEIGHTS)) return 0;
    uint64_t bytes = 0;
    for (const auto* linear : linears.all) bytes += linear->bytes;
    return bytes;
  }

  static bool calibrates(const ModifierRun& run) { return run.calibrates() || calibration_reason(*run.modifier); }

  // Compress of `run` on `unit` into its stage (the plugin's own work under the plugin's name).
  Cost compress(const ModifierRun& run, const ClaimedLinears& linears, const Unit& unit, const UnitShape& shape,
                const LayerCost* layer, StageSum& sum) {
    bool known = true;
    const Cost work = compress_cost(run, linears, shape, rates_, layer, known);
    if (!known && sum.stage.work.empty())
      sum.stage.work = fmt::format("plugin '{}' has no cost model: its own work is not counted; ", run.modifier->plugin);
    sum.add(unit.index, run.modifier->plugin, work.seconds);
    return work;
  }

  // The calibration pass skips the layer's last matmul (DecoderLayer::observe) unless the plugin takes outputs or
  // that Linear's output activations are quantized (observed); an MoE layer runs in full.
  double skipped_in_calibration(const ModifierRun& run, const UnitShape& shape) const {
    if (shape.linears.empty() || has_capability(run, LLMC_CAP_NEEDS_OUTPUTS)) return 0;
    const LinearShape& last = shape.linears.back();
    if (is_expert(last.name)) return 0;
    const auto scheme = run.schemes_by_module.find(last.name);
    if (scheme != run.schemes_by_module.end()) {
      const auto output = scheme->second->find("output_activations");
      if (output != scheme->second->end() && !output->is_null()) return 0;
    }
    return layer_->linear_seconds(last);
  }

  // A decoder layer of a calibrated run (layer_calibration.cpp): loaded in the compute dtype; per modifier a
  // calibration pass (a forward over every sample, taps feeding the plugin) and its compress; then the
  // propagation forward (but the last layer's, whose output nothing reads); then the write.
  void calibrated_layer(const Unit& unit, const UnitShape& shape) {
    const LayerCost& layer = *layer_;
    const uint64_t weights = static_cast<uint64_t>(shape.elements * layer.dtype_size);
    const uint64_t resident = cache_resident();
    StageSum& load = stage("load layers", "load");
    load.add(unit.index, "read", rates_.read_seconds(shape.bytes));
    load.add(unit.index, "convert", static_cast<double>(weights) / rates_.memcpy_bytes);
    load.hold(resident + weights + shape.bytes);
    const double forward = layer.forward_seconds(shape);
    const uint64_t scratch = layer.forward_scratch();
    uint64_t edited = 0;
    for (const ModifierRun& run : *in_.runs) {
      if (run.modules_in(unit.modules).empty()) continue;
      const std::string& label = run.modifier->label();
      const ClaimedLinears linears = claimed(run, unit, shape);
      Cost statistics;
      if (calibrates(run)) {
        statistics = calibrate_cost(run.modifier->plugin, linears, shape, layer);
        StageSum& calibrate = stage("calibrate: " + label, "calibrate", label);
        calibrate.add(unit.index, "forward", forward - skipped_in_calibration(run, shape));
        if (statistics.seconds > 0) calibrate.add(unit.index, "Hessians", statistics.seconds);
        calibrate.hold(resident + weights + edited + scratch + statistics.bytes);
      }
      StageSum& sum = stage("compress: " + label, "compress", label);
      const Cost work = compress(run, linears, unit, shape, &layer, sum);
      edited += edited_bytes(run, linears);
      // the heap keeps the forward's freed buffers (calibrated runs allocate below a 32 MiB mmap threshold)
      sum.hold(resident + weights + edited + scratch + statistics.bytes + work.bytes);
    }
    if (unit.index + 1 < layer.arch.num_layers) {
      StageSum& propagate = stage("propagate", "propagate");
      propagate.add(unit.index, "forward", forward);
      propagate.hold(resident + weights + edited + scratch);
    }
    write(unit, shape, resident + claimed_bytes(unit, shape) + edited);
  }

  // A unit streamed without calibration: each modifier's compress on the mapped weights, then the write. The
  // run reads a unit's tensors ahead on a thread while the unit before it works (oneshot.cpp); that thread
  // and the kernel's reading share the cores with the quantizing threads, so half of that work's time hides
  // reading (measured on the 1B shapes, 2 cores: 3.6 s against 3.0 s hiding it all and 4.3 s hiding none).
  void data_free_unit(const Unit& unit, const UnitShape& shape) {
    const uint64_t resident = cache_resident() + claimed_bytes(unit, shape);
    uint64_t edited = 0;
    double hiding = previous_unit_work_ / 2, work_seconds = 0;
    for (const ModifierRun& run : *in_.runs) {
      if (run.modules_in(unit.modules).empty()) continue;
      const std::string& label = run.modifier->label();
      const ClaimedLinears linears = claimed(run, unit, shape);
      StageSum& sum = stage("compress: " + label, "compress", label);
      uint64_t read = 0;
      for (const auto* linear : linears.all) read += linear->bytes;
      const double read_seconds = rates_.read_seconds(read);
      sum.add(unit.index, "read", std::max(0.0, read_seconds - hiding));
      hiding = std::max(0.0, hiding - read_seconds);
      const Cost work = compress(run, linears, unit, shape, nullptr, sum);
      work_seconds += work.seconds;
      edited += edited_bytes(run, linears);
      sum.hold(resident + edited + work.bytes);
    }
    previous_unit_work_ = work_seconds + write(unit, shape, resident + edited);
  }
  // Quantized weights are quantized and packed (bits / 8 bytes per weight, plus a 2-byte scale per group or
  // row); the other tensors are copied file to file (read, then written) or written from memory. `held`: what
  // is resident meanwhile (the cache, the unit's mapped and edited tensors).
  // Returns the seconds it adds.
  double write(const Unit& unit, const UnitShape& shape, uint64_t held) {
    StageSum& sum = stage("write shards", "write");
    double pack = 0, written = 0, copied = 0, scratch = 0;
    std::set<std::string> quantized;
    for (const ModifierRun& run : *in_.runs) {
      if (!has_capability(run, LLMC_CAP_QUANTIZES)) continue;
      for (const auto* linear : claimed(run, unit, shape).quantized) {
        if (!quantized.insert(linear->name).second) continue;
        const nlohmann::json& weights = *weight_scheme(run, linear->name);
        const double bits = weights.value("num_bits", 8.0);
        const double group = weights.contains("group_size") && weights["group_size"].is_number()
                                 ? weights["group_size"].get<double>() : static_cast<double>(linear->in);
        pack += linear->elements() * rates_.pack_seconds;
        written += linear->elements() * bits / 8 + linear->elements() / group * 2;
        copied -= static_cast<double>(linear->bytes);
        scratch = std::max(scratch, quantize_scratch(weights, linear->elements(), static_cast<double>(linear->bytes)));
      }
    }
    copied += static_cast<double>(shape.bytes);
    if (pack > 0) sum.add(unit.index, "quantize and pack", pack);
    const double copy = rates_.read_seconds(static_cast<uint64_t>(copied)) + rates_.write_seconds(copied);
    sum.add(unit.index, "copy", copy);
    sum.add(unit.index, "write", rates_.write_seconds(written));
    sum.hold(held + static_cast<uint64_t>(scratch));
    return pack + copy + rates_.write_seconds(written);
  }

  const PlanInputs& in_;
  const MachineRates& rates_;
  std::optional<LayerCost> layer_;  // a calibrated run's decoder layers
  double previous_unit_work_ = 0;    // seconds of the last data-free unit's work, which hide the next one's read
  std::deque<StageSum> stages_;  // a deque: a stage's reference stays valid while others are added
};

// The probes' shapes: the first decoder layer's Linears, a calibration sample, the run's first quantized weight.
Expected<ProbeWork> probe_work(const PlanInputs& inputs, const model::Architecture* arch, at::ScalarType dtype) {
  ProbeWork work;
  work.dtype = dtype;
  work.matmul = exec::resolve_matmul_math(inputs.matmul, dtype);
  for (const auto& file : inputs.checkpoint->files()) work.files.push_back(file->path());
  work.write_directory = inputs.output_parent;
  if (!inputs.sample_tokens.empty()) {
    std::vector<int64_t> sorted = inputs.sample_tokens;
    std::sort(sorted.begin(), sorted.end());
    work.tokens = sorted[sorted.size() / 2];
  }
  if (arch) {
    work.heads = arch->num_heads;
    work.head_dim = arch->head_dim;
  }
  for (const auto& module : inputs.map->modules) {
    if (module.layer_index != 0 || module.kind != LLMC_MODULE_LINEAR || is_expert(module.name)) continue;
    const auto weight = module.tensors.find("weight");
    const auto ref = weight == module.tensors.end() ? std::nullopt : inputs.checkpoint->find(weight->second);
    if (ref && ref->info->shape.size() == 2 && arch) work.linears.emplace_back(ref->info->shape[1], ref->info->shape[0]);
  }
  for (const ModifierRun& run : *inputs.runs) {
    const std::string& plugin = run.modifier->plugin;
    if ((plugin == "gptq" || plugin == "sparsegpt") && arch) work.hessian_columns = arch->hidden_size;
    if (work.quantized || !has_capability(run, LLMC_CAP_QUANTIZES)) continue;
    for (size_t i = 0; i < run.infos.size() && !work.quantized; ++i) {
      const auto scheme = run.schemes_by_module.find(run.infos[i].name);
      if (scheme == run.schemes_by_module.end() || !weight_scheme(run, run.infos[i].name)) continue;
      auto recorded = parse_scheme(*scheme->second);
      if (!recorded || !recorded->scheme.weights) continue;
      auto source = exec::open_weight_source(*inputs.checkpoint, exec::ComputeOptions{dtype});
      if (!source) return source.error();
      auto weight = (*source)->tensor(fmt::format("{}.weight", run.infos[i].name));
      if (!weight) return weight.error();
      work.quantized = QuantizedWeightSample{std::move(*weight), std::move(*recorded)};
    }
  }
  return work;
}

// The architecture of a calibrated run (its layers run); none for a data-free one, which streams tensors.
Expected<std::optional<model::Architecture>> architecture_of(const PlanInputs& inputs) {
  if (inputs.sample_tokens.empty()) return std::optional<model::Architecture>();
  auto arch = model::resolve_architecture(inputs.checkpoint->config());
  if (!arch) return arch.error();
  return std::optional<model::Architecture>(std::move(*arch));
}

}  // namespace

Expected<RunPlan> estimate_run(const PlanInputs& inputs, const MachineRates& rates, double startup_seconds) {
  auto dtype = exec::checkpoint_dtype(*inputs.checkpoint);
  if (!dtype) return dtype.error();
  auto arch = architecture_of(inputs);
  if (!arch) return arch.error();
  return Estimator(inputs, rates, *arch ? &**arch : nullptr, *dtype).estimate(startup_seconds);
}

Expected<RunPlan> plan_run(const PlanInputs& inputs) {
  auto dtype = exec::checkpoint_dtype(*inputs.checkpoint);
  if (!dtype) return dtype.error();
  auto arch = architecture_of(inputs);
  if (!arch) return arch.error();
  MachineRates rates;
  {
    auto work = probe_work(inputs, *arch ? &**arch : nullptr, *dtype);
    if (!work) return work.error();
    rates = probe_machine(*work);
  }
  rates.baseline_rss = resident_set_bytes();  // once the probes' tensors are gone
  return estimate_run(inputs, rates, std::max(0.0, process_age_seconds() - inputs.tokenize_seconds));
}

}  // namespace llmc::pipeline
