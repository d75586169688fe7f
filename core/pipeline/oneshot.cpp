// core/pipeline/oneshot.cpp
#include "pipeline/oneshot.h"

#include <fmt/format.h>
#include <malloc.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "model/checkpoint.h"
#include "model/module_map.h"
#include "model/output_directory.h"
#include "model/safetensors_writer.h"
#include "pipeline/activation_observers.h"
#include "pipeline/calibration_samples.h"
#include "pipeline/layer_calibration.h"
#include "pipeline/layer_unit.h"
#include "pipeline/modifier_run.h"
#include "pipeline/plan_estimate.h"
#include "pipeline/quantization_plan.h"
#include "pipeline/run_manifest.h"
#include "pipeline/units.h"
#include "plugin/plugin_instance.h"
#include "plugin/plugin_library.h"
#include "plugin/plugin_search.h"
#include "recipe/plugin_options.h"
#include "recipe/recipe.h"
#include "recipe/target_match.h"
#include "tensor/memory_budget.h"
#include "util/event_log.h"
#include "util/log.h"
#include "util/progress.h"

namespace llmc::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

RunError fail(ExitCode code, const Error& error) { return RunError{code, error.message}; }

/// Finds, loads and binds the plugin of every modifier; plugins are loaded once per file.
std::optional<RunError> bind_plugins(const recipe::Recipe& recipe, const plugin::PluginSearchPath& search,
                                     std::vector<ModifierRun>& runs) {
  std::map<std::filesystem::path, std::shared_ptr<plugin::PluginLibrary>> loaded;
  for (const auto& modifier : recipe.modifiers) {
    auto path = search.find(modifier.plugin);
    if (!path) return RunError{ExitCode::plugin, fmt::format("{}: {}: {}", modifier.location.str(), modifier.label(),
                                                             path.error().message)};
    auto& library = loaded[*path];
    if (!library) {
      auto result = plugin::PluginLibrary::load(*path);
      if (!result) return fail(ExitCode::plugin, result.error());
      library = *result;
    }
    if (library->name() != modifier.plugin)
      return RunError{ExitCode::plugin, fmt::format("plugin {}: its descriptor is named '{}', not '{}'",
                                                    path->string(), library->name(), modifier.plugin)};
    const auto& descriptor = library->descriptor();
    if (auto status = recipe::check_quantization_allowed(modifier, descriptor.capabilities & LLMC_CAP_QUANTIZES,
                                                         modifier.plugin);
        !status)
      return fail(ExitCode::recipe, status.error());
    auto options = recipe::bind_plugin_options(modifier, library->options().data(), library->options().size());
    if (!options) return fail(ExitCode::recipe, options.error());
    ModifierRun run;
    run.modifier = &modifier;
    run.library = library;
    run.options = std::move(*options);
    runs.push_back(std::move(run));
  }
  return std::nullopt;
}

std::optional<RunError> resolve_modules(const model::ModuleMap& map, const model::Checkpoint& checkpoint,
                                        std::vector<ModifierRun>& runs) {
  std::vector<recipe::ModuleRef> refs;
  refs.reserve(map.modules.size());
  for (const auto& module : map.modules) refs.push_back(recipe::ModuleRef{module.name, module.class_names});
  for (auto& run : runs) {
    auto resolution = recipe::resolve_targets(*run.modifier, refs);
    if (!resolution) return fail(ExitCode::recipe, resolution.error());
    for (const auto& warning : resolution->warnings) log::warning("{}", warning);
    const auto* matches = &resolution->matches;
    for (const auto& group : run.modifier->groups) run.group_schemes.push_back(group.scheme);
    run.schemes.reserve(matches->size());
    for (const auto& match : *matches) {
      const auto& module = map.modules[match.module_index];
      if (module.tensors.empty())
        return RunError{ExitCode::recipe,
                        fmt::format("{}: {}: {} shares its weight with the input embedding (tie_word_embeddings), "
                                    "and llmc does not untie it; add it to ignore",
                                    run.modifier->location.str(), run.modifier->label(), module.name)};
      const auto& groups = run.modifier->groups;
      run.schemes.push_back(groups.empty() ? std::string() : groups[match.group_index].scheme.dump());
    }
    for (size_t i = 0; i < matches->size(); ++i) {
      const auto& match = (*matches)[i];
      const auto& module = map.modules[match.module_index];
      llmc_module_info info{};
      info.struct_size = sizeof(llmc_module_info);
      info.name = module.name.c_str();
      info.kind = module.kind;
      info.layer_index = module.layer_index;
      info.group_index = run.modifier->groups.empty() ? -1 : match.group_index;
      info.scheme_json = run.schemes[i].empty() ? nullptr : run.schemes[i].c_str();
      run.infos.push_back(info);
      run.module_indices.push_back(match.module_index);
      if (info.group_index >= 0) run.schemes_by_module[module.name] = &run.group_schemes[info.group_index];
    }
    if (!run.modifier->sets_quantization()) continue;
    std::vector<ClaimedModule> claimed;
    for (size_t i = 0; i < run.infos.size(); ++i) {
      const auto scheme = run.schemes_by_module.find(run.infos[i].name);
      claimed.push_back({&map.modules[run.module_indices[i]],
                         scheme == run.schemes_by_module.end() ? nullptr : scheme->second});
    }
    if (auto status = check_group_divisibility(*run.modifier, claimed, checkpoint); !status)
      return fail(ExitCode::recipe, status.error());
  }
  return std::nullopt;
}

nlohmann::json module_names(const std::vector<llmc_module_info>& infos) {
  auto names = nlohmann::json::array();
  for (const auto& info : infos) names.push_back(info.name);
  return names;
}

/// How many tensors the output will hold, to size the shards' header gaps: the input's, and three more for each
/// module a modifier targets (a packed weight's shape, scale and zero point). A gap too small for the header
/// makes the writer copy the whole shard once more (0.33 s for the 1B shapes' 844 MB shard).
size_t expected_output_tensors(const model::Checkpoint& checkpoint, const std::vector<ModifierRun>& runs) {
  std::set<std::string_view> targeted;
  for (const auto& run : runs)
    for (const auto& info : run.infos) targeted.insert(info.name);
  return checkpoint.tensor_names().size() + 3 * targeted.size();
}

/// Reads a unit's tensors from the disk into the page cache on a thread of its own, so that they arrive while
/// the unit before it computes (the reads block; the mapping's own readahead fetches 128 KiB at a time).
class Prefetcher {
 public:
  Prefetcher(const model::Checkpoint& checkpoint, const model::ModuleMap& map) : checkpoint_(checkpoint), map_(map) {}
  ~Prefetcher() { wait(); }

  void start(const Unit& unit) {
    wait();
    thread_ = std::thread([this, &unit] {
      for (size_t m : unit.modules)
        for (const auto& [suffix, name] : map_.modules[m].tensors)
          if (auto ref = checkpoint_.find(name)) ref->file->prefetch(*ref->info);
    });
  }

 private:
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

  const model::Checkpoint& checkpoint_;
  const model::ModuleMap& map_;
  std::thread thread_;
};

/// Two quantizing modifiers may not give one module different schemes: a checkpoint stores one scheme per module.
std::optional<RunError> check_scheme_conflicts(const model::ModuleMap& map, const std::vector<ModifierRun>& runs) {
  std::map<size_t, std::pair<const ModifierRun*, const nlohmann::json*>> claimed;  // module index -> first claim
  for (const auto& run : runs) {
    for (size_t i = 0; i < run.infos.size(); ++i) {
      const auto scheme = run.schemes_by_module.find(run.infos[i].name);
      if (scheme == run.schemes_by_module.end()) continue;
      const auto [it, first] = claimed.try_emplace(run.module_indices[i], &run, scheme->second);
      if (first || *it->second.second == *scheme->second) continue;
      return RunError{ExitCode::recipe,
                      fmt::format("{}: {} and {} both quantize {} with different schemes, and a compressed-tensors "
                                  "checkpoint holds one scheme per module; make their targets disjoint (or ignore it "
                                  "in one of them)",
                                  run.modifier->location.str(), it->second.first->modifier->label(), run.modifier->label(),
                                  map.modules[run.module_indices[i]].name)};
    }
  }
  return std::nullopt;
}

/// Why `run` needs calibration data (its plugin calibrates, or its quantization observes activations), or nullopt.
std::optional<std::string> data_reason(const ModifierRun& run) {
  if (run.calibrates())
    return fmt::format("{}: {}: plugin '{}' calibrates on data", run.modifier->location.str(), run.modifier->label(),
                       run.modifier->plugin);
  return calibration_reason(*run.modifier);
}

/// The first reason why this run calibrates, or nullopt for a data-free run.
std::optional<std::string> first_data_reason(const std::vector<ModifierRun>& runs) {
  for (const auto& run : runs)
    if (auto reason = data_reason(run)) return reason;
  return std::nullopt;
}

/// Calibration covers decoder layers only: the head and embeddings have no calibration pass. A calibrating
/// modifier that quantizes nothing (smoothquant, sparsegpt) just leaves them alone; one that would quantize
/// them, or a scheme that observes their activations or weighs their weight by its inputs (imatrix_mse), is an
/// error.
std::optional<RunError> fit_calibrated_modules(const model::ModuleMap& map, std::vector<ModifierRun>& runs) {
  for (auto& run : runs) {
    for (size_t i = 0; i < run.infos.size();) {
      if (map.modules[run.module_indices[i]].layer_index >= 0) {
        ++i;
        continue;
      }
      const auto scheme = run.schemes_by_module.find(run.infos[i].name);
      const bool observes = scheme != run.schemes_by_module.end() &&
                            (needs_calibration((*scheme->second)["input_activations"]) ||
                             needs_calibration((*scheme->second)["output_activations"]) ||
                             needs_input_importance((*scheme->second)["weights"]));
      if (run.calibrates() && !run.modifier->sets_quantization()) {
        log::debug("{}: {} is outside the decoder layers, which get no calibration data: left as it is",
                   run.modifier->label(), run.infos[i].name);
        run.infos.erase(run.infos.begin() + static_cast<std::ptrdiff_t>(i));
        run.module_indices.erase(run.module_indices.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (!run.calibrates() && !observes) {
        ++i;
        continue;
      }
      return RunError{ExitCode::recipe,
                      fmt::format("{}: {}: {} is outside the decoder layers, where it would get no calibration data "
                                  "(llmc calibrates decoder layers); add it to ignore",
                                  run.modifier->location.str(), run.modifier->label(), run.infos[i].name)};
    }
  }
  return std::nullopt;
}

/// The reference's calibration defaults, then the recipe's [calibration], then the command line.
Expected<std::pair<std::filesystem::path, data::CalibrationOptions>> calibration_settings(
    const OneshotOptions& options, const recipe::Recipe& recipe, const std::string& reason) {
  const auto& table = recipe.calibration;
  data::CalibrationOptions settings;
  if (auto samples = options.calibration.samples.value_or(table.samples.value_or(0)); samples > 0)
    settings.num_samples = static_cast<size_t>(samples);
  if (auto length = options.calibration.max_seq_length.value_or(table.max_seq_length.value_or(0)); length > 0)
    settings.max_seq_length = static_cast<size_t>(length);
  settings.seed = static_cast<uint64_t>(options.calibration.seed.value_or(table.seed.value_or(42)));
  settings.shuffle = table.shuffle.value_or(true);
  settings.concatenate = options.calibration.concatenate.value_or(table.concatenate.value_or(false));
  std::filesystem::path dataset;
  if (options.calibration.dataset) {
    dataset = *options.calibration.dataset;
  } else if (table.dataset) {
    dataset = std::filesystem::path(recipe.file).parent_path() / *table.dataset;  // relative to the recipe
  } else {
    return Error{fmt::format("{}, which needs calibration data: pass --dataset FILE (.txt, .json or .jsonl), or set "
                             "dataset in the recipe's [calibration] table",
                             reason)};
  }
  return std::pair{dataset, settings};
}

std::vector<int64_t> token_counts(const std::vector<std::vector<int32_t>>& samples) {
  std::vector<int64_t> counts;
  for (const auto& sample : samples) counts.push_back(static_cast<int64_t>(sample.size()));
  return counts;
}

/// --plan: the estimate goes back to the caller (and to --plan-json); nothing is written at --output.
OneshotResult planned(const OneshotOptions& options, RunPlan plan) {
  if (std::filesystem::exists(options.output) && !options.overwrite)
    log::warning("{} exists: the run would stop there without --overwrite", options.output.string());
  if (options.plan_json)
    if (auto status = plan.write_json(*options.plan_json); !status) return fail(ExitCode::failure, status.error());
  RunSummary summary;
  summary.plan = std::move(plan);
  return summary;
}

}  // namespace

OneshotResult run_oneshot(const OneshotOptions& options) {
  const auto started = Clock::now();
  EventLog events;
  if (options.log_json) {
    auto opened = EventLog::open(*options.log_json);
    if (!opened) return RunError{ExitCode::usage, opened.error().message};
    events = std::move(*opened);
  }

  auto recipe = recipe::parse_recipe_file(options.recipe);
  if (!recipe) return fail(ExitCode::recipe, recipe.error());
  std::vector<ModifierRun> runs;
  if (auto error = bind_plugins(*recipe, plugin::PluginSearchPath::standard(options.plugin_dirs), runs)) return *error;
  const std::optional<std::string> calibrating = first_data_reason(runs);
  const auto& table = recipe->calibration;
  if (!calibrating && (table.dataset || table.samples || table.max_seq_length || table.seed || table.shuffle ||
                       table.concatenate || options.calibration.dataset))
    log::warning("{}: the calibration settings are not used: no modifier of this recipe calibrates on data", recipe->file);

  auto checkpoint = model::Checkpoint::open(options.model);
  if (!checkpoint) return fail(ExitCode::model, checkpoint.error());
  const model::ModuleMap map = model::build_module_map(*checkpoint);
  if (auto error = resolve_modules(map, *checkpoint, runs)) return *error;
  if (auto error = check_scheme_conflicts(map, runs)) return *error;
  if (auto error = fit_calibrated_modules(map, runs)) return *error;
  // The calibration data comes before the output: the plan counts its tokens, and --plan writes nothing.
  std::vector<std::vector<int32_t>> samples;
  std::filesystem::path dataset;
  double tokenize_seconds = 0;
  if (calibrating) {
    // A forward frees and allocates activation-sized buffers thousands of times per layer. Past main()'s
    // 128 KiB mmap threshold each is a fresh mapping, faulted in page by page and unmapped on free (20 s of
    // system time in a 58 s GPTQ run); from the heap they are reused. 32 MiB, glibc's own ceiling for its
    // moving threshold: SmolLM2 GPTQ on 4 x 512 tokens 43.1 s -> 34.4 s, peak 273 -> 312 MB. Set before
    // the plan, whose probes run forwards too. Setting it stops glibc's own moving of the trim threshold, so
    // that is set as glibc would have moved it (twice the mmap threshold): at its 128 KiB default, every free
    // at the heap's top handed pages back that the next buffer faulted in again (7% of a GPTQ run zeroing them).
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    auto settings = calibration_settings(options, *recipe, *calibrating);
    if (!settings) return fail(ExitCode::usage, settings.error());
    const auto step = Clock::now();
    auto loaded = load_calibration_samples(options.model, settings->first, settings->second);
    if (!loaded) return fail(ExitCode::usage, loaded.error());
    samples = std::move(*loaded);
    dataset = settings->first;
    tokenize_seconds = seconds_since(step);
  }
  auto plan = plan_run({&*checkpoint, &map, &runs, token_counts(samples), tokenize_seconds, options.memory_budget,
                        std::filesystem::absolute(options.output).parent_path(), options.matmul});
  if (!plan && options.plan_only) return fail(ExitCode::model, plan.error());
  if (plan) events.emit({{"event", "plan"}, {"plan", plan->to_json()}});
  if (options.plan_only) return planned(options, std::move(*plan));
  if (plan)
    log::info("{}", plan->summary());
  else
    log::warning("no plan: {}", plan.error().message);  // the run goes on, and reports what it cannot do itself
  auto output = model::OutputDirectory::create(options.output, options.overwrite);
  if (!output) return fail(ExitCode::failure, output.error());
  MemoryBudget budget(options.memory_budget);
  std::unique_ptr<LayerCalibration> calibration;  // its spill file, if any, lies in the output's temporary directory
  if (calibrating) {
    const auto step = Clock::now();
    auto started_calibration = LayerCalibration::start(*checkpoint, samples, budget, output->path(), options.matmul);
    if (!started_calibration) return fail(ExitCode::model, started_calibration.error());
    calibration = std::move(*started_calibration);
    const std::string_view matmul = exec::to_string(calibration->matmul());
    log::info("calibration: {} samples, {} tokens from {}; matmuls in {}", calibration->batches(), calibration->tokens(),
              dataset.string(), matmul);
    events.emit({{"event", "calibration_data"}, {"dataset", dataset.string()}, {"samples", calibration->batches()},
                 {"tokens", calibration->tokens()}, {"matmul", matmul}, {"seconds", tokenize_seconds + seconds_since(step)}});
    const ActivationCache& cache = calibration->cache();
    log::info("{}", cache.summary());
    nlohmann::json cache_event = {{"event", "activation_cache"}, {"bytes", cache.bytes()},
                                  {"mode", cache.spill_file() ? "spill" : "memory"}};
    if (cache.spill_file()) cache_event["file"] = cache.spill_file()->path().string();
    events.emit(std::move(cache_event));
  }
  events.emit({{"event", "start"}, {"model", options.model.string()}, {"recipe", options.recipe.string()},
               {"output", options.output.string()}, {"modules", map.modules.size()}});

  for (auto& run : runs) {
    auto instance = plugin::PluginInstance::create(run.library, run.modifier->label(), run.options, &budget);
    if (!instance) return fail(ExitCode::recipe, instance.error());
    run.instance = std::move(*instance);
  }
  for (auto& run : runs) {
    const auto step = Clock::now();
    const llmc_module_list list{sizeof(llmc_module_list), run.infos.size(), run.infos.data()};
    const auto set_weight_arg = [&run](int32_t group, std::string_view key, std::string_view value) {
      return run.set_weight_arg(group, key, value);
    };
    if (auto status = run.instance->initialize(list, set_weight_arg); !status) return fail(ExitCode::failure, status.error());
    run.refresh_scheme_json();
    events.emit({{"event", "initialize"}, {"modifier", run.modifier->label()}, {"plugin", run.modifier->plugin},
                 {"modules", module_names(run.infos)}, {"seconds", seconds_since(step)}});
  }

  model::SafetensorsWriter writer(output->path(), options.max_shard_bytes, expected_output_tensors(*checkpoint, runs));
  const std::vector<Unit> units = plan_units(map);
  Progress progress(options.progress && stderr_is_terminal());
  progress.start(calibration ? "calibrate+compress" : "compress", units.size());
  RunSummary summary;
  if (calibration) {
    summary.calibration_samples = calibration->batches();
    summary.calibration_tokens = calibration->tokens();
  }
  std::map<std::string, const nlohmann::json*> quantized;  // module -> the scheme it was quantized with
  const CompressStep compress = [&](ModifierRun& run, plugin::LayerAccess& access, LayerUnit& layer,
                                    std::vector<llmc_module_info>& mine) -> Status {
    if (!run.instance->has_compress()) return Status::ok();
    const auto step = Clock::now();
    const llmc_module_list list{sizeof(llmc_module_list), mine.size(), mine.data()};
    layer.set_schemes(run.schemes_by_module.empty() ? nullptr : &run.schemes_by_module);
    const Status status = run.instance->compress(access, list);
    layer.set_schemes(nullptr);
    if (!status) {
      events.emit({{"event", "error"}, {"step", "compress"}, {"unit", layer.name()}, {"message", status.error().message}});
      return status;
    }
    summary.modules_compressed += mine.size();
    events.emit({{"event", "compress"}, {"modifier", run.modifier->label()}, {"unit", layer.name()},
                 {"layer", layer.index()}, {"modules", module_names(mine)}, {"seconds", seconds_since(step)}});
    return Status::ok();
  };
  Prefetcher prefetcher(*checkpoint, map);
  for (size_t u = 0; u < units.size(); ++u) {
    const Unit& unit = units[u];
    if (u + 1 < units.size()) prefetcher.start(units[u + 1]);
    std::vector<const model::ModuleEntry*> unit_modules;
    for (size_t m : unit.modules) unit_modules.push_back(&map.modules[m]);
    LayerUnit layer(*checkpoint, std::move(unit_modules), unit.index, unit.name, &budget);
    if (calibration && unit.index >= 0) {
      if (auto status = calibration->process(layer, runs, unit.modules, compress, events); !status)
        return fail(ExitCode::failure, status.error());
    } else {
      for (auto& run : runs) {
        std::vector<llmc_module_info> mine = run.modules_in(unit.modules);
        if (mine.empty()) continue;
        if (auto status = compress(run, layer, layer, mine); !status) return fail(ExitCode::failure, status.error());
      }
    }
    const auto writing = Clock::now();
    if (auto status = layer.write_to(writer); !status) return fail(ExitCode::failure, status.error());
    events.emit({{"event", "write"}, {"unit", unit.name}, {"seconds", seconds_since(writing)}});
    summary.tensors_written += layer.tensor_count();
    layer.collect_quantized(quantized);
    progress.update(u + 1, unit.name);
  }
  progress.finish();
  calibration.reset();  // removes the activation spill file before the output is committed
  summary.units = units.size();

  for (auto& run : runs) {
    const auto step = Clock::now();
    if (auto status = run.instance->finalize(); !status) return fail(ExitCode::failure, status.error());
    events.emit({{"event", "finalize"}, {"modifier", run.modifier->label()}, {"seconds", seconds_since(step)}});
  }
  auto written = writer.finish();
  if (!written) return fail(ExitCode::failure, written.error());
  summary.bytes_written = written->total_size;

  RunManifest manifest;
  for (const auto& run : runs)
    manifest.plugins.push_back({run.modifier->label(), run.library->name(), run.library->descriptor().version,
                                run.library->abi_version(), run.library->path().string()});
  manifest.model = options.model;
  manifest.recipe = options.recipe;
  manifest.seconds = seconds_since(started);
  manifest.summary = summary;
  nlohmann::json config = checkpoint->config();
  nlohmann::json kv_cache_scheme;  // a later modifier's replaces an earlier one's, as its schemes do
  for (const auto& run : runs)
    if (run.modifier->kv_cache_scheme) kv_cache_scheme = run.modifier->kv_cache_scheme->args;
  auto quantization_config = build_quantization_config(map, quantized, kv_cache_scheme);
  if (!quantization_config) return fail(ExitCode::failure, quantization_config.error());
  if (!quantization_config->is_null()) config["quantization_config"] = std::move(*quantization_config);
  if (auto status = write_checkpoint_files(*checkpoint, config, *recipe, manifest, output->path()); !status)
    return fail(ExitCode::failure, status.error());
  if (auto status = output->commit(); !status) return fail(ExitCode::failure, status.error());
  summary.seconds = seconds_since(started);
  events.emit({{"event", "done"}, {"output", options.output.string()}, {"units", summary.units},
               {"modules_compressed", summary.modules_compressed}, {"tensors", summary.tensors_written},
               {"bytes", summary.bytes_written}, {"header_rewrites", writer.rewrites()}, {"seconds", summary.seconds}});
  return summary;
}

}  // namespace llmc::pipeline
