// core/plugin/plugin_library.h - one loaded plugin shared library and its negotiated descriptor.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "llmc/plugin.h"
#include "util/expected.h"

namespace boost::dll {
class shared_library;
}

namespace llmc::plugin {

/// A plugin library, loaded with Boost.DLL and ABI-checked. It stays loaded while any instance made
/// from it lives (instances hold a shared_ptr), so no code or data of the plugin outlives its library.
class PluginLibrary {
 public:
  /// Loads `path`, calls its entry point with the host table and checks the descriptor. Errors name
  /// the file and, for version problems, both ABI versions.
  static Expected<std::shared_ptr<PluginLibrary>> load(const std::filesystem::path& path);
  ~PluginLibrary();

  const llmc_plugin_descriptor& descriptor() const { return *descriptor_; }
  /// The recipe keys the plugin declares, read with the stride of the plugin's own struct size.
  const std::vector<llmc_option_spec>& options() const { return options_; }
  const std::filesystem::path& path() const { return path_; }
  std::string name() const { return descriptor_->name; }
  /// "1.0": the ABI version the plugin was built against.
  std::string abi_version() const;

 private:
  PluginLibrary(std::unique_ptr<boost::dll::shared_library> library, const llmc_plugin_descriptor* descriptor,
                std::vector<llmc_option_spec> options, std::filesystem::path path);

  std::unique_ptr<boost::dll::shared_library> library_;
  const llmc_plugin_descriptor* descriptor_;
  std::vector<llmc_option_spec> options_;
  std::filesystem::path path_;
};

/// "quantizes, edits-weights, ..." for display.
std::string describe_capabilities(uint64_t capabilities);

}  // namespace llmc::plugin
