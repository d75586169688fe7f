// core/pipeline/layer_calibration.cpp
#include "pipeline/layer_calibration.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <set>

#include "exec/weight_source.h"
#include "llmc/torch.h"
#include "pipeline/activation_observers.h"
#include "pipeline/calibrated_layer.h"

namespace llmc::pipeline {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// DLPack views of one batch's activations, as llmc_calibration_batch hands them over. Modules that read the
/// same tensor share one view's memory.
class ActivationViews {
 public:
  void add(const char* module, const at::Tensor& input, const at::Tensor* output) {
    Entry& entry = entries_.emplace_back();
    entry.module = module;
    entry.input = flatten(input);
    if (output) entry.output = flatten(*output);
  }

  /// The items, valid while this object lives and is not added to.
  const std::vector<llmc_module_activation>& items() {
    views_.clear();
    views_.reserve(2 * entries_.size());
    items_.clear();
    for (auto& entry : entries_) {
      views_.push_back(view(entry.input, entry.input_shape, entry.input_strides));
      const llmc_dl_tensor* input = &views_.back();
      const llmc_dl_tensor* output = nullptr;
      if (entry.output.defined()) {
        views_.push_back(view(entry.output, entry.output_shape, entry.output_strides));
        output = &views_.back();
      }
      items_.push_back(llmc_module_activation{sizeof(llmc_module_activation), entry.module, input, output});
    }
    return items_;
  }

 private:
  struct Entry {
    const char* module = nullptr;
    at::Tensor input, output;
    std::vector<int64_t> input_shape, input_strides, output_shape, output_strides;
  };
  // [.., features] -> [tokens, features], a view of the same memory.
  static at::Tensor flatten(const at::Tensor& t) { return t.reshape({-1, t.size(-1)}); }
  static llmc_dl_tensor view(const at::Tensor& t, std::vector<int64_t>& shape, std::vector<int64_t>& strides) {
    return torch_bridge::as_view(t, shape, strides);
  }

  std::vector<Entry> entries_;
  std::vector<llmc_dl_tensor> views_;
  std::vector<llmc_module_activation> items_;
};

// The host's observers for what `run`'s schemes quantize with calibrated activation parameters in this layer.
Expected<ActivationObservers> activation_observers(const ModifierRun& run, const std::vector<llmc_module_info>& modules,
                                                   std::string attention) {
  std::map<std::string, const nlohmann::json*, std::less<>> schemes;
  for (const auto& info : modules)
    if (const auto it = run.schemes_by_module.find(info.name); it != run.schemes_by_module.end())
      schemes.emplace(info.name, it->second);
  std::optional<recipe::QuantArgs> kv_cache;
  if (run.modifier->kv_cache_scheme) {
    auto args = recipe::quant_args_from_json(run.modifier->kv_cache_scheme->args);
    if (!args) return Error{fmt::format("{}: kv_cache_scheme: {}", run.modifier->label(), args.error().message)};
    kv_cache = std::move(*args);
  }
  return ActivationObservers::create(schemes, kv_cache, std::move(attention));
}

// Embeds `batches` into `cache` as the first layer's inputs, loading the embedding table once per chunk: one
// chunk for an in-memory cache, chunks within the cache's share of the budget for a spilled one.
Status embed_into(exec::ModelRunner& runner, std::span<const exec::Batch> batches, ActivationCache& cache,
                  uint64_t budget_bytes) {
  const uint64_t chunk_bytes = cache.spill_file() ? ActivationCache::memory_share(budget_bytes) : UINT64_MAX;
  for (size_t first = 0; first < batches.size();) {
    size_t end = first + 1;
    for (uint64_t bytes = cache.sample_bytes(first);
         end < batches.size() && bytes + cache.sample_bytes(end) <= chunk_bytes; ++end)
      bytes += cache.sample_bytes(end);
    auto hidden = runner.embed_batches(batches.subspan(first, end - first));
    if (!hidden) return Error{fmt::format("embedding the calibration samples: {}", hidden.error().message)};
    for (size_t b = first; b < end; ++b) LLMC_TRY(cache.write(b, (*hidden)[b - first]));
    first = end;
  }
  return cache.next_layer();
}

}  // namespace

Expected<std::unique_ptr<LayerCalibration>> LayerCalibration::start(const model::Checkpoint& checkpoint,
                                                                    const std::vector<std::vector<int32_t>>& samples,
                                                                    MemoryBudget& budget,
                                                                    const std::filesystem::path& spill_directory,
                                                                    std::optional<exec::MatmulMath> matmul) {
  auto dtype = exec::checkpoint_dtype(checkpoint);
  if (!dtype) return dtype.error();
  // eager attention, as the reference's calibration_forward_context sets
  exec::ComputeOptions options{*dtype, at::kCPU, /*quantize_activations=*/false, exec::AttentionMath::eager,
                               exec::resolve_matmul_math(matmul, *dtype)};
  auto weights = exec::open_weight_source(checkpoint, options);
  if (!weights) return weights.error();
  auto runner = exec::ModelRunner::create(checkpoint, std::move(*weights), options);
  if (!runner) return runner.error();
  std::unique_ptr<LayerCalibration> calibration(new LayerCalibration());
  calibration->runner_ = std::move(*runner);
  std::vector<exec::Batch> batches;
  std::vector<int64_t> sample_tokens;
  for (const auto& sample : samples) {
    const at::Tensor ids = at::tensor(at::ArrayRef<int32_t>(sample), at::TensorOptions().dtype(at::kInt)).to(at::kLong);
    batches.push_back(exec::Batch{ids.unsqueeze(0), at::Tensor()});
    sample_tokens.push_back(static_cast<int64_t>(sample.size()));
  }
  for (const auto& batch : batches) {
    auto context = calibration->runner_->context(batch);
    if (!context) return context.error();
    calibration->contexts_.push_back(std::move(*context));
  }
  exec::ModelRunner& model = *calibration->runner_;
  auto cache = ActivationCache::create(std::move(sample_tokens), model.architecture().hidden_size,
                                       model.compute_dtype(), budget, spill_directory);
  if (!cache) return cache.error();
  calibration->cache_ = std::move(*cache);
  LLMC_TRY(embed_into(model, batches, *calibration->cache_, budget.limit()));
  return calibration;
}

Status LayerCalibration::calibrate(ModifierRun& run, const exec::DecoderLayer& layer, CalibratedLayer& access,
                                   const std::vector<llmc_module_info>& modules, ActivationObservers& observers) {
  std::map<std::string_view, const char*> wanted;  // module -> its name as the plugin holds it
  for (const auto& info : modules) wanted.emplace(info.name, info.name);
  const bool outputs = run.instance->has_capability(LLMC_CAP_NEEDS_OUTPUTS);
  const bool keep_inputs = run.instance->has_capability(LLMC_CAP_RUNS_MODULES);
  std::vector<CachedInputs> cached;
  for (size_t b = 0; b < cache_->samples(); ++b) {
    auto hidden = cache_->read(b);
    if (!hidden) return hidden.error();
    std::map<std::string_view, std::pair<at::Tensor, at::Tensor>> seen;
    Status observed = Status::ok();
    const exec::LinearTap tap = [&](std::string_view module, const at::Tensor& input, const at::Tensor& output) {
      if (const auto it = wanted.find(module); it != wanted.end()) seen.insert_or_assign(it->first, std::pair{input, output});
      if (observed) observed = observers.observe_linear(module, input, output);
    };
    const exec::KvTap kv = [&](const at::Tensor& keys, const at::Tensor& values) {
      if (observed) observed = observers.observe_kv(keys, values);
    };
    // the layer's output is not read here, nor the last Linear's but by a plugin that takes outputs or an
    // output observer: without them the pass skips that matmul
    const bool last_output = outputs || observers.observes_output(layer.last_linear());
    LLMC_TRY(layer.observe(*hidden, contexts_[b], tap, &kv, last_output));
    LLMC_TRY(observed);
    if (!run.calibrates()) continue;  // the pass only feeds the host's activation observers
    ActivationViews views;
    CachedInputs inputs;
    for (const auto& info : modules) {
      const auto it = seen.find(info.name);
      if (it == seen.end()) continue;  // an expert that no token of this batch was routed to
      views.add(info.name, it->second.first, outputs ? &it->second.second : nullptr);
      if (keep_inputs) inputs.emplace(info.name, it->second.first);
    }
    const auto& items = views.items();
    const llmc_calibration_batch batch{sizeof(llmc_calibration_batch), static_cast<int64_t>(b), items.size(),
                                       items.data(), /*sequences=*/1};
    LLMC_TRY(run.instance->calibrate(access, batch));
    if (keep_inputs) cached.push_back(std::move(inputs));
  }
  access.set_cached_inputs(std::move(cached));
  return Status::ok();
}

Status LayerCalibration::process(LayerUnit& unit, std::vector<ModifierRun>& runs, std::span<const size_t> unit_modules,
                                 const CompressStep& compress, EventLog& events) {
  const auto loading = std::chrono::steady_clock::now();
  auto layer = runner_->load_layer(unit.index());
  if (!layer) return Error{fmt::format("{}: {}", unit.name(), layer.error().message)};
  events.emit({{"event", "load"}, {"unit", unit.name()}, {"layer", unit.index()}, {"seconds", seconds_since(loading)}});
  CalibratedLayer access(unit, *layer, runner_->architecture(), contexts_);
  for (auto& run : runs) {
    std::vector<llmc_module_info> modules = run.modules_in(unit_modules);
    if (modules.empty()) continue;
    std::vector<std::string> names;
    for (const auto& info : modules) names.emplace_back(info.name);
    access.set_callback_modules(names);
    auto observers = activation_observers(run, modules, layer->attention_block());
    if (!observers) return observers.error();
    if (run.calibrates() || !observers->empty()) {
      const auto started = std::chrono::steady_clock::now();
      access.sync_weights();  // the layer as the earlier modifiers left it
      LLMC_TRY(calibrate(run, *layer, access, modules, *observers));
      events.emit({{"event", "calibrate"}, {"modifier", run.modifier->label()}, {"unit", unit.name()},
                   {"layer", unit.index()}, {"batches", cache_->samples()}, {"seconds", seconds_since(started)}});
    }
    unit.set_input_importance(observers->input_importance());
    const Status compressed = compress(run, access, unit, modules);
    access.set_cached_inputs({});
    LLMC_TRY(compressed);
    if (!observers->empty()) {
      auto params = observers->params();
      if (!params) return params.error();
      LLMC_TRY(unit.record_activations(*params, runner_->compute_dtype()));
    }
  }
  if (unit.index() + 1 == runner_->architecture().num_layers) return Status::ok();  // nothing reads its output
  const auto started = std::chrono::steady_clock::now();
  access.sync_weights();
  for (size_t b = 0; b < cache_->samples(); ++b) {
    auto input = cache_->read(b);
    if (!input) return input.error();
    auto next = layer->forward(*input, contexts_[b]);
    if (!next) return next.error();
    LLMC_TRY(cache_->write(b, *next));
  }
  LLMC_TRY(cache_->next_layer());
  events.emit({{"event", "propagate"}, {"unit", unit.name()}, {"layer", unit.index()}, {"seconds", seconds_since(started)}});
  return Status::ok();
}

}  // namespace llmc::pipeline
