/* broken_abi_major: a plugin built against ABI major LLMC_ABI_MAJOR + 1 whose entry does not refuse
 * an older host: the host must reject it from the descriptor's abi_major. */
#include <llmc/plugin.h>

#include <stddef.h>

static int instance;

static llmc_status* abi_major_create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) {
  (void)host;
  (void)ctx;
  *out_self = &instance;
  return NULL;
}

static void abi_major_destroy(void* self) { (void)self; }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR + 1,
    .abi_minor = LLMC_ABI_MINOR,
    .name = "broken_abi_major",
    .version = "1.0.0",
    .description = "test plugin: descriptor claims the next ABI major",
    .create = abi_major_create,
    .destroy = abi_major_destroy,
};

LLMC_PLUGIN_EXPORT int32_t llmc_plugin_entry(const llmc_host_api* host, const llmc_plugin_descriptor** out) {
  (void)host;
  *out = &descriptor;
  return LLMC_OK;
}
