// core/pipeline/oneshot.cpp
#include "pipeline/oneshot.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>

#include "model/checkpoint.h"
#include "model/module_map.h"
#include "model/output_directory.h"
#include "model/safetensors_writer.h"
#include "pipeline/layer_unit.h"
#include "pipeline/quantization_plan.h"
#include "pipeline/run_manifest.h"
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

/// One recipe modifier, bound to its plugin and to the modules it resolved to.
struct ModifierRun {
  const recipe::Modifier* modifier = nullptr;
  std::shared_ptr<plugin::PluginLibrary> library;
  recipe::OptionValues options;
  std::unique_ptr<plugin::PluginInstance> instance;
  std::vector<std::string> schemes;       // storage behind infos[i].scheme_json
  std::vector<llmc_module_info> infos;    // the resolved modules, in model order
  std::vector<size_t> module_indices;     // into the module map, parallel to infos
  SchemeMap schemes_by_module;            // for quant_weight: module -> its scheme in this modifier
};

/// The modules processed together: one decoder layer, or one module outside the layers.
struct Unit {
  int32_t index;
  std::string name;
  std::vector<size_t> modules;  // into the module map
};

std::string unit_name(const model::ModuleEntry& module) {
  if (module.layer_index < 0) return module.name;
  const std::string needle = fmt::format(".{}.", module.layer_index);
  const auto pos = module.name.find(needle);
  return pos == std::string::npos ? fmt::format("layer {}", module.layer_index)
                                  : module.name.substr(0, pos + needle.size() - 1);
}

std::vector<Unit> plan_units(const model::ModuleMap& map) {
  std::vector<Unit> units;
  for (size_t i = 0; i < map.modules.size(); ++i) {
    const auto& module = map.modules[i];
    if (module.layer_index >= 0 && !units.empty() && units.back().index == module.layer_index) {
      units.back().modules.push_back(i);
      continue;
    }
    units.push_back(Unit{module.layer_index, unit_name(module), {i}});
  }
  return units;
}

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
    if (descriptor.calibrate != nullptr)
      return RunError{ExitCode::recipe,
                      fmt::format("{}: {}: plugin '{}' calibrates on data (it has a calibrate callback), and this "
                                  "llmc runs data-free recipes only",
                                  modifier.location.str(), modifier.label(), modifier.plugin)};
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
      if (info.group_index >= 0) run.schemes_by_module[module.name] = &run.modifier->groups[info.group_index].scheme;
    }
    if (!run.modifier->sets_quantization()) continue;
    if (auto status = check_data_free(*run.modifier); !status) return fail(ExitCode::recipe, status.error());
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
  const auto& calibration = recipe->calibration;
  if (calibration.dataset || calibration.samples || calibration.max_seq_length || calibration.seed)
    log::warning("{}: [calibration] is not used: no modifier of this recipe calibrates on data", recipe->file);

  auto checkpoint = model::Checkpoint::open(options.model);
  if (!checkpoint) return fail(ExitCode::model, checkpoint.error());
  const model::ModuleMap map = model::build_module_map(*checkpoint);
  if (auto error = resolve_modules(map, *checkpoint, runs)) return *error;
  events.emit({{"event", "start"}, {"model", options.model.string()}, {"recipe", options.recipe.string()},
               {"output", options.output.string()}, {"modules", map.modules.size()}});

  auto output = model::OutputDirectory::create(options.output, options.overwrite);
  if (!output) return fail(ExitCode::failure, output.error());

  MemoryBudget budget(options.memory_budget);
  for (auto& run : runs) {
    auto instance = plugin::PluginInstance::create(run.library, run.modifier->label(), run.options, &budget);
    if (!instance) return fail(ExitCode::recipe, instance.error());
    run.instance = std::move(*instance);
  }
  for (auto& run : runs) {
    const auto step = Clock::now();
    const llmc_module_list list{sizeof(llmc_module_list), run.infos.size(), run.infos.data()};
    if (auto status = run.instance->initialize(list); !status) return fail(ExitCode::failure, status.error());
    events.emit({{"event", "initialize"}, {"modifier", run.modifier->label()}, {"plugin", run.modifier->plugin},
                 {"modules", module_names(run.infos)}, {"seconds", seconds_since(step)}});
  }

  model::SafetensorsWriter writer(output->path(), options.max_shard_bytes, checkpoint->tensor_names().size());
  const std::vector<Unit> units = plan_units(map);
  Progress progress(options.progress && stderr_is_terminal());
  progress.start("compress", units.size());
  RunSummary summary;
  std::map<std::string, const nlohmann::json*> quantized;  // module -> the scheme it was quantized with
  for (size_t u = 0; u < units.size(); ++u) {
    const Unit& unit = units[u];
    std::vector<const model::ModuleEntry*> unit_modules;
    for (size_t m : unit.modules) unit_modules.push_back(&map.modules[m]);
    LayerUnit layer(*checkpoint, std::move(unit_modules), unit.index, unit.name, &budget);
    for (auto& run : runs) {
      std::vector<llmc_module_info> mine;
      for (size_t i = 0; i < run.infos.size(); ++i)
        if (std::find(unit.modules.begin(), unit.modules.end(), run.module_indices[i]) != unit.modules.end())
          mine.push_back(run.infos[i]);
      if (mine.empty() || !run.instance->has_compress()) continue;
      const auto step = Clock::now();
      const llmc_module_list list{sizeof(llmc_module_list), mine.size(), mine.data()};
      layer.set_schemes(run.schemes_by_module.empty() ? nullptr : &run.schemes_by_module);
      if (auto status = run.instance->compress(layer, list); !status) {
        events.emit({{"event", "error"}, {"step", "compress"}, {"unit", unit.name}, {"message", status.error().message}});
        return fail(ExitCode::failure, status.error());
      }
      summary.modules_compressed += mine.size();
      events.emit({{"event", "compress"}, {"modifier", run.modifier->label()}, {"unit", unit.name},
                   {"layer", unit.index}, {"modules", module_names(mine)}, {"seconds", seconds_since(step)}});
    }
    layer.set_schemes(nullptr);
    if (auto status = layer.write_to(writer); !status) return fail(ExitCode::failure, status.error());
    summary.tensors_written += layer.tensor_count();
    layer.collect_quantized(quantized);
    progress.update(u + 1, unit.name);
  }
  progress.finish();
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
  auto quantization_config = build_quantization_config(map, quantized);
  if (!quantization_config) return fail(ExitCode::failure, quantization_config.error());
  if (!quantization_config->is_null()) config["quantization_config"] = std::move(*quantization_config);
  if (auto status = write_checkpoint_files(*checkpoint, config, *recipe, manifest, output->path()); !status)
    return fail(ExitCode::failure, status.error());
  if (auto status = output->commit(); !status) return fail(ExitCode::failure, status.error());
  summary.seconds = seconds_since(started);
  events.emit({{"event", "done"}, {"output", options.output.string()}, {"units", summary.units},
               {"modules_compressed", summary.modules_compressed}, {"tensors", summary.tensors_written},
               {"bytes", summary.bytes_written}, {"seconds", summary.seconds}});
  return summary;
}

}  // namespace llmc::pipeline
