// core/plugin/plugin_search.h - where plugins are found: --plugin-path, LLMC_PLUGIN_PATH, the install dir.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/expected.h"

namespace llmc::plugin {

/// Ordered plugin directories; the first directory holding `<name>.so` wins.
class PluginSearchPath {
 public:
  /// `cli_dirs` first, then the colon-separated LLMC_PLUGIN_PATH, then the dir installed next to the
  /// running binary (<prefix>/lib/llmc/plugins for <prefix>/bin/llmc).
  static PluginSearchPath standard(const std::vector<std::filesystem::path>& cli_dirs);
  explicit PluginSearchPath(std::vector<std::filesystem::path> dirs) : dirs_(std::move(dirs)) {}

  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  /// The file for plugin `name`, or an error listing the directories searched.
  Expected<std::filesystem::path> find(const std::string& name) const;
  /// Every `*.so` in the directories, in search order; a name shadowed by an earlier dir is skipped.
  std::vector<std::filesystem::path> list() const;

 private:
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace llmc::plugin
