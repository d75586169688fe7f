/* broken_null_create: a descriptor without the required create callback. The host must reject it at
 * load time (not crash at the first modifier). */
#include <llmc/plugin.h>

#include <stddef.h>

static llmc_status* null_create_compress(void* self, llmc_layer* layer, const llmc_module_list* modules) {
  (void)self;
  (void)layer;
  (void)modules;
  return NULL;
}

static void null_create_destroy(void* self) { (void)self; }

static const llmc_plugin_descriptor descriptor = {
    .struct_size = sizeof(llmc_plugin_descriptor),
    .abi_major = LLMC_ABI_MAJOR,
    .abi_minor = LLMC_ABI_MINOR,
    .name = "broken_null_create",
    .version = "1.0.0",
    .description = "test plugin: descriptor without create",
    .create = NULL,
    .compress = null_create_compress,
    .destroy = null_create_destroy,
};

LLMC_PLUGIN_DEFINE(broken_null_create, descriptor)
