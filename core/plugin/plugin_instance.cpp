// core/plugin/plugin_instance.cpp
#include "plugin/plugin_instance.h"

#include <fmt/format.h>

#include <exception>

namespace llmc::plugin {

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, llmc_host_ctx ctx)
    : library_(std::move(library)), ctx_(std::move(ctx)) {}

PluginInstance::~PluginInstance() {
  if (!self_) return;
  try {
    descriptor().destroy(self_);
  } catch (...) {
    // A plugin that throws from destroy cannot be helped; the run's result is already decided.
  }
}

template <class Call>
Status PluginInstance::invoke(std::string_view callback, std::string_view where, Call&& call) {
  const std::string context = fmt::format("{} [{}]: {}{}", ctx_.label, library_->path().string(), callback, where);
  llmc_status* status = nullptr;
  try {
    status = call();
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: threw a C++ exception across the C ABI ({}); plugins must return errors as "
                             "llmc_status values",
                             context, e.what())};
  } catch (...) {
    return Error{fmt::format("{}: threw across the C ABI; plugins must return errors as llmc_status values", context)};
  }
  if (status) return take_status(status, context);
  return Status::ok();
}

Expected<std::unique_ptr<PluginInstance>> PluginInstance::create(std::shared_ptr<PluginLibrary> library,
                                                                 std::string label, recipe::OptionValues options,
                                                                 MemoryBudget* budget) {
  llmc_host_ctx ctx{std::move(label), std::move(options), budget};
  std::unique_ptr<PluginInstance> instance(new PluginInstance(std::move(library), std::move(ctx)));
  void* self = nullptr;
  PluginInstance& raw = *instance;
  LLMC_TRY(raw.invoke("create", "", [&] { return raw.descriptor().create(&host_api(), &raw.ctx_, &self); }));
  instance->self_ = self;
  return instance;
}

Status PluginInstance::initialize(const llmc_module_list& modules,
                                  std::function<Status(int32_t, std::string_view, std::string_view)> set_weight_arg) {
  if (!has_initialize()) return Status::ok();
  ctx_.set_weight_arg = std::move(set_weight_arg);
  const Status status = invoke("initialize", "", [&] { return descriptor().initialize(self_, &modules); });
  ctx_.set_weight_arg = nullptr;
  return status;
}

Status PluginInstance::calibrate(LayerAccess& layer, const llmc_calibration_batch& batch) {
  if (!has_calibrate()) return Status::ok();
  llmc_layer handle{&layer};
  return invoke("calibrate", fmt::format(" on {} (batch {})", layer.name(), batch.batch_index),
                [&] { return descriptor().calibrate(self_, &handle, &batch); });
}

Status PluginInstance::compress(LayerAccess& layer, const llmc_module_list& modules) {
  if (!has_compress()) return Status::ok();
  llmc_layer handle{&layer};
  return invoke("compress", fmt::format(" on {}", layer.name()),
                [&] { return descriptor().compress(self_, &handle, &modules); });
}

Status PluginInstance::finalize() {
  if (!has_finalize()) return Status::ok();
  return invoke("finalize", "", [&] { return descriptor().finalize(self_); });
}

}  // namespace llmc::plugin
