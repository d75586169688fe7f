/* broken_entry_refuses: a plugin built for a newer host (ABI minor LLMC_ABI_MINOR + 1): its entry
 * refuses this host with LLMC_ERROR_ABI_MISMATCH, as LLMC_PLUGIN_DEFINE does, after pointing `*out`
 * at its descriptor so that the host can name both versions. The host must report the refusal and
 * read nothing of the descriptor past abi_minor. */
#include <llmc/plugin.h>

#include <stddef.h>

#define BUILT_FOR_ABI_MINOR (LLMC_ABI_MINOR + 1)

static int instance;

static llmc_status* refuses_create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) {
  (void)host;
  (void)ctx;
  *out_self = &instance;
  return NULL;
}

static void refuses_destroy(void* self) { (void)self; }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR,
    .abi_minor = BUILT_FOR_ABI_MINOR,
    .name = "broken_entry_refuses",
    .version = "1.0.0",
    .description = "test plugin: built for a newer host, refuses this one",
    .create = refuses_create,
    .destroy = refuses_destroy,
};

LLMC_PLUGIN_EXPORT int32_t llmc_plugin_entry(const llmc_host_api* host, const llmc_plugin_descriptor** out) {
  if (host == NULL || out == NULL) return LLMC_ERROR_INVALID_ARGUMENT;
  *out = &descriptor;
  if (host->abi_major != LLMC_ABI_MAJOR || host->abi_minor < BUILT_FOR_ABI_MINOR) return LLMC_ERROR_ABI_MISMATCH;
  return LLMC_OK;
}
