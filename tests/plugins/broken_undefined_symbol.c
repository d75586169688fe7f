/* broken_undefined_symbol: a plugin that needs a symbol no library provides (as when a plugin is built
 * against a library missing at run time); loading must fail with the loader's reason, naming it. */
#include <llmc/plugin.h>

extern int llmc_test_symbol_nobody_defines(void);

static llmc_status* create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) {
  (void)host;
  (void)ctx;
  *out_self = (void*)(intptr_t)llmc_test_symbol_nobody_defines();
  return NULL;
}

static void destroy(void* self) { (void)self; }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR,
    .abi_minor = LLMC_ABI_MINOR,
    .name = "broken_undefined_symbol",
    .version = "1.0.0",
    .create = create,
    .destroy = destroy,
};

LLMC_PLUGIN_DEFINE(broken_undefined_symbol, descriptor)
