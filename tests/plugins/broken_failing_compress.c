/* broken_failing_compress: compress always fails with LLMC_ERROR_NUMERICAL "cholesky failed on
 * purpose". The host must report the error (with the modifier and layer), call destroy, and fail
 * the run. */
#include <llmc/plugin.h>

#include <stdlib.h>

typedef struct failing_instance {
  const llmc_host_api* host;
} failing_instance;

static llmc_status* failing_create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) {
  (void)ctx;
  failing_instance* self = malloc(sizeof *self);
  if (self == NULL) return host->status_create(LLMC_ERROR_OUT_OF_MEMORY, "out of memory");
  self->host = host;
  *out_self = self;
  return NULL;
}

static llmc_status* failing_compress(void* self, llmc_layer* layer, const llmc_module_list* modules) {
  (void)layer;
  (void)modules;
  const failing_instance* instance = self;
  return instance->host->status_create(LLMC_ERROR_NUMERICAL, "cholesky failed on purpose");
}

static void failing_destroy(void* self) { free(self); }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR,
    .abi_minor = LLMC_ABI_MINOR,
    .name = "broken_failing_compress",
    .version = "1.0.0",
    .description = "test plugin: compress fails with LLMC_ERROR_NUMERICAL",
    .capabilities = LLMC_CAP_EDITS_WEIGHTS,
    .create = failing_create,
    .compress = failing_compress,
    .destroy = failing_destroy,
};

LLMC_PLUGIN_DEFINE(broken_failing_compress, descriptor)
