// tools/llmc/cmd_plugins.cpp - `llmc plugins`: what is on the plugin search path, and what is broken there.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli_options.h"
#include "commands.h"
#include "pipeline/oneshot.h"
#include "plugin/plugin_library.h"
#include "plugin/plugin_search.h"
#include "util/log.h"

namespace llmc::cli {
namespace {

constexpr const char* kUsage = R"(usage: llmc plugins [--plugin-path DIR]... [--verbose]

Lists every plugin on the search path (--plugin-path, then LLMC_PLUGIN_PATH, then the directory installed
with llmc): name, version, the plugin ABI it was built for, capabilities, and file. A plugin that cannot
be loaded is reported with the reason, and the exit code is then 4.)";

const char* option_type_name(int32_t type) {
  switch (type) {
    case LLMC_OPTION_BOOL: return "bool";
    case LLMC_OPTION_INT: return "int";
    case LLMC_OPTION_FLOAT: return "float";
    case LLMC_OPTION_STRING: return "string";
    case LLMC_OPTION_STRING_LIST: return "list of strings";
    case LLMC_OPTION_FLOAT_LIST: return "list of numbers";
  }
  return "?";
}

void print_options(const std::vector<llmc_option_spec>& options) {
  for (const auto& spec : options) {
    std::cout << fmt::format("    {} ({}{}{}){}{}\n", spec.key, option_type_name(spec.type),
                             spec.default_value ? ", default " : ", required",
                             spec.default_value ? spec.default_value : "", spec.description ? ": " : "",
                             spec.description ? spec.description : "");
  }
}

}  // namespace

int run_plugins_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::vector<std::string> plugin_dirs;
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("plugin-path", po::value(&plugin_dirs)->composing(), "a directory searched for plugins first (repeatable)")
      ("verbose,v", "also list each plugin's description and recipe keys");
  po::variables_map vars;
  int exit_code = 0;
  if (!parse_command_line(args, kUsage, options, vars, exit_code)) return exit_code;

  std::vector<std::filesystem::path> dirs(plugin_dirs.begin(), plugin_dirs.end());
  const auto search = plugin::PluginSearchPath::standard(dirs);
  const bool verbose = vars.count("verbose") > 0;
  int broken = 0;
  std::vector<std::shared_ptr<plugin::PluginLibrary>> loaded;
  for (const auto& path : search.list()) {
    auto library = plugin::PluginLibrary::load(path);
    if (!library) {
      log::write(log::Level::error, library.error().message);
      ++broken;
      continue;
    }
    loaded.push_back(std::move(*library));
  }
  size_t name_width = 4, version_width = 7;
  for (const auto& library : loaded) {
    name_width = std::max(name_width, library->name().size());
    version_width = std::max(version_width, std::string_view(library->descriptor().version).size());
  }
  for (const auto& library : loaded) {
    const auto& d = library->descriptor();
    std::cout << fmt::format("{:<{}}  {:<{}}  abi {:<5} {:<24} {}\n", d.name, name_width, d.version, version_width,
                             library->abi_version(), plugin::describe_capabilities(d.capabilities),
                             library->path().string());
    if (verbose) {
      if (d.description) std::cout << "    " << d.description << "\n";
      print_options(library->options());
    }
  }
  const size_t listed = loaded.size();
  if (listed == 0 && broken == 0) {
    std::cerr << "llmc: no plugins found; searched:\n";
    for (const auto& dir : search.dirs()) std::cerr << "  " << dir.string() << "\n";
  }
  return broken ? static_cast<int>(pipeline::ExitCode::plugin) : 0;
}

}  // namespace llmc::cli
