// core/plugin/plugin_search.cpp
#include "plugin/plugin_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

namespace llmc::plugin {
namespace {

std::filesystem::path running_binary_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

PluginSearchPath PluginSearchPath::standard(const std::vector<std::filesystem::path>& cli_dirs) {
  std::vector<std::filesystem::path> dirs = cli_dirs;
  if (const char* env = std::getenv("LLMC_PLUGIN_PATH")) {
    std::stringstream stream(env);
    for (std::string dir; std::getline(stream, dir, ':');)
      if (!dir.empty()) dirs.emplace_back(dir);
  }
  if (auto bin = running_binary_dir(); !bin.empty()) dirs.push_back(bin.parent_path() / "lib" / "llmc" / "plugins");
  return PluginSearchPath(std::move(dirs));
}

Expected<std::filesystem::path> PluginSearchPath::find(const std::string& name) const {
  for (const auto& dir : dirs_) {
    auto candidate = dir / (name + ".so");
    if (std::filesystem::is_regular_file(candidate)) return candidate;
  }
  std::string searched;
  for (const auto& dir : dirs_) searched += "\n  " + dir.string();
  return Error{fmt::format("plugin '{}' not found: no {}.so in{}\n(add a directory with --plugin-path or "
                           "LLMC_PLUGIN_PATH; `llmc plugins` lists what is found)",
                           name, name, searched.empty() ? " (no plugin directories)" : searched)};
}

std::vector<std::filesystem::path> PluginSearchPath::list() const {
  std::vector<std::filesystem::path> found;
  std::set<std::string> seen;
  for (const auto& dir : dirs_) {
    std::error_code ec;
    std::vector<std::filesystem::path> in_dir;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so" && entry.is_regular_file()) in_dir.push_back(entry.path());
    std::sort(in_dir.begin(), in_dir.end());
    for (auto& path : in_dir)
      if (seen.insert(path.stem().string()).second) found.push_back(std::move(path));
  }
  return found;
}

}  // namespace llmc::plugin
