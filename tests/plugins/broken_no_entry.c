/* broken_no_entry: a shared library that exports no llmc_plugin_entry (here a misspelled one). The
 * host must skip it with a message naming the file, and load the other plugins. */
#include <llmc/plugin.h>

LLMC_PLUGIN_EXPORT int32_t llmc_plugin_entry_v0(const llmc_host_api* host, const llmc_plugin_descriptor** out) {
  (void)host;
  (void)out;
  return LLMC_ERROR_INTERNAL;
}
