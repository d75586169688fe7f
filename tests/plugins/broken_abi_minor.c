/* broken_abi_minor: a plugin newer than the host (descriptor abi_minor = LLMC_ABI_MINOR + 1) whose
 * entry lets the host through: the host must reject it from the descriptor's abi_minor. */
#include <llmc/plugin.h>

#include <stddef.h>

static int instance;

static llmc_status* abi_minor_create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) {
  (void)host;
  (void)ctx;
  *out_self = &instance;
  return NULL;
}

static void abi_minor_destroy(void* self) { (void)self; }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR,
    .abi_minor = LLMC_ABI_MINOR + 1,
    .name = "broken_abi_minor",
    .version = "1.0.0",
    .description = "test plugin: descriptor claims a newer ABI minor than the host's",
    .create = abi_minor_create,
    .destroy = abi_minor_destroy,
};

LLMC_PLUGIN_DEFINE(broken_abi_minor, descriptor)
