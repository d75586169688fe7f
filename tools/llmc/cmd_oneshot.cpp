// tools/llmc/cmd_oneshot.cpp - `llmc oneshot`.
#include <fmt/format.h>

#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "pipeline/oneshot.h"
#include "util/log.h"

namespace llmc::cli {
namespace {

constexpr const char* kUsage = R"(usage: llmc oneshot --model DIR --recipe FILE.toml --output DIR [options]

Applies the recipe's modifiers, in order, to every layer of the checkpoint in DIR and writes the result
to --output. The output is written into a temporary directory beside it and renamed into place only when
complete; a failed run leaves nothing at --output.)";

std::string format_bytes(uint64_t bytes) {
  if (bytes >= 1'000'000'000) return fmt::format("{:.2f} GB", bytes / 1e9);
  if (bytes >= 1'000'000) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

int run_oneshot_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string model, recipe, output, log_json, max_shard = "5GB", memory_budget = "0";
  std::vector<std::string> plugin_dirs;
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("model", po::value(&model)->required(), "input Hugging Face checkpoint directory")
      ("recipe", po::value(&recipe)->required(), "TOML recipe")
      ("output", po::value(&output)->required(), "output checkpoint directory (must not exist, see --overwrite)")
      ("overwrite", "replace --output if it exists (only once the new output is complete)")
      ("plugin-path", po::value(&plugin_dirs)->composing(), "a directory searched for plugins first (repeatable)")
      ("log-json", po::value(&log_json), "write one JSON event per lifecycle step to this file")
      ("max-shard-size", po::value(&max_shard), "largest output shard, e.g. 2GB, 500MiB (default 5GB)")
      ("memory-budget", po::value(&memory_budget), "fail instead of holding more tensor memory than this, e.g. 4GB (default: no limit)")
      ("quiet,q", "no progress display and no summary line")
      ("verbose,v", "debug logging");
  po::variables_map vars;
  int exit_code = 0;
  if (!parse_command_line(args, kUsage, options, vars, exit_code)) return exit_code;

  pipeline::OneshotOptions run;
  run.model = model;
  run.recipe = recipe;
  run.output = output;
  run.overwrite = vars.count("overwrite") > 0;
  for (const auto& dir : plugin_dirs) run.plugin_dirs.emplace_back(dir);
  if (!log_json.empty()) run.log_json = log_json;
  const auto shard = parse_byte_size(max_shard);
  const auto budget = parse_byte_size(memory_budget);
  if (!shard || *shard == 0 || !budget) {
    std::fprintf(stderr, "llmc: oneshot: %s is not a size (examples: 2GB, 500MiB, 1000000)\n",
                 !shard || *shard == 0 ? "--max-shard-size" : "--memory-budget");
    return 2;
  }
  run.max_shard_bytes = *shard;
  run.memory_budget = *budget;
  run.progress = vars.count("quiet") == 0;
  if (vars.count("verbose")) log::set_level(log::Level::debug);
  if (vars.count("quiet")) log::set_level(log::Level::warning);

  const auto result = pipeline::run_oneshot(run);
  if (const auto* error = std::get_if<pipeline::RunError>(&result)) {
    log::write(log::Level::error, error->message);
    return static_cast<int>(error->code);
  }
  const auto& summary = std::get<pipeline::RunSummary>(result);
  log::info("wrote {}: {} units, {} modules compressed, {} tensors, {} in {:.2f} s", output, summary.units,
            summary.modules_compressed, summary.tensors_written, format_bytes(summary.bytes_written), summary.seconds);
  return 0;
}

}  // namespace llmc::cli
