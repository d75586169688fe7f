// broken_throwing_compress: compress throws std::runtime_error("thrown on purpose") straight through
// the C ABI (no wrapper), which the ABI forbids. The host must not crash silently: it either catches
// the exception at its call site and reports it, or fails with a clear message.
#include <llmc/plugin.h>

#include <stdexcept>

namespace {

int instance;

llmc_status* throwing_create(const llmc_host_api*, llmc_host_ctx*, void** out_self) {
  *out_self = &instance;
  return nullptr;
}

llmc_status* throwing_compress(void*, llmc_layer*, const llmc_module_list*) {
  throw std::runtime_error("thrown on purpose");
}

void throwing_destroy(void*) {}

constexpr llmc_plugin_descriptor descriptor = [] {
  llmc_plugin_descriptor d{};
  d.struct_size = sizeof(llmc_plugin_descriptor);
  d.abi_major = LLMC_ABI_MAJOR;
  d.abi_minor = LLMC_ABI_MINOR;
  d.name = "broken_throwing_compress";
  d.version = "1.0.0";
  d.description = "test plugin: compress throws through the C ABI";
  d.capabilities = LLMC_CAP_EDITS_WEIGHTS;
  d.create = throwing_create;
  d.compress = throwing_compress;
  d.destroy = throwing_destroy;
  return d;
}();

}  // namespace

LLMC_PLUGIN_DEFINE(broken_throwing_compress, descriptor)
