// core/plugin/plugin_instance.h - one recipe modifier's instance of a plugin, and the guarded calls
// into its lifecycle callbacks.
#pragma once

#include <memory>
#include <string>

#include "llmc/plugin.h"
#include "plugin/host_api.h"
#include "plugin/plugin_library.h"
#include "recipe/plugin_options.h"
#include "util/expected.h"

namespace llmc::plugin {

/// Owns the plugin's `self` and the host context it was created with. Every call catches what a
/// misbehaving plugin throws and turns statuses into Errors that name the modifier, the plugin file,
/// the callback and the layer.
class PluginInstance {
 public:
  static Expected<std::unique_ptr<PluginInstance>> create(std::shared_ptr<PluginLibrary> library, std::string label,
                                                          recipe::OptionValues options, MemoryBudget* budget);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const PluginLibrary& library() const { return *library_; }
  const std::string& label() const { return ctx_.label; }
  bool has_initialize() const { return descriptor().initialize != nullptr; }
  bool has_calibrate() const { return descriptor().calibrate != nullptr; }
  bool has_compress() const { return descriptor().compress != nullptr; }
  bool has_finalize() const { return descriptor().finalize != nullptr; }

  bool has_capability(uint64_t bit) const { return (descriptor().capabilities & bit) != 0; }

  /// `set_weight_arg` serves the plugin's scheme_set_weight_arg calls during this initialize.
  Status initialize(const llmc_module_list& modules,
                    std::function<Status(int32_t, std::string_view, std::string_view)> set_weight_arg = {});
  Status calibrate(LayerAccess& layer, const llmc_calibration_batch& batch);
  Status compress(LayerAccess& layer, const llmc_module_list& modules);
  Status finalize();

 private:
  PluginInstance(std::shared_ptr<PluginLibrary> library, llmc_host_ctx ctx);
  const llmc_plugin_descriptor& descriptor() const { return library_->descriptor(); }
  template <class Call>
  Status invoke(std::string_view callback, std::string_view where, Call&& call);

  std::shared_ptr<PluginLibrary> library_;
  llmc_host_ctx ctx_;
  void* self_ = nullptr;
};

}  // namespace llmc::plugin
