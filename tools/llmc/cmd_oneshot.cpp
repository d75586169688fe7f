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
complete; a failed run leaves nothing at --output. Recipes with calibrating modifiers (gptq, awq, smoothquant,
sparsegpt, wanda, ...) need --dataset or a [calibration] dataset.)";

int usage_error(const char* message) {
  std::fprintf(stderr, "llmc: oneshot: %s\n", message);
  return 2;
}

std::string format_bytes(uint64_t bytes) {
  if (bytes >= 1'000'000'000) return fmt::format("{:.2f} GB", bytes / 1e9);
  if (bytes >= 1'000'000) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

int run_oneshot_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string model, recipe, output, log_json, plan_json, max_shard = "5GB", memory_budget = "0", matmul = "auto";
  std::vector<std::string> plugin_dirs;
  std::string dataset;
  int64_t samples = 0, max_seq_length = 0, seed = -1;
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("model", po::value(&model)->required(), "input Hugging Face checkpoint directory")
      ("recipe", po::value(&recipe)->required(), "TOML recipe")
      ("output", po::value(&output)->required(), "output checkpoint directory (must not exist, see --overwrite)")
      ("overwrite", "replace --output if it exists (only once the new output is complete)")
      ("dataset", po::value(&dataset), "calibration data: .txt (paragraphs), .json or .jsonl (text, messages or input_ids)")
      ("samples", po::value(&samples), "calibration samples (default 512, or the recipe's [calibration] samples)")
      ("max-seq-length", po::value(&max_seq_length), "tokens per calibration sample, at most (default 2048)")
      ("seed", po::value(&seed), "seed of the calibration samples' shuffle (default 42)")
      ("concatenate", "join the calibration samples and cut them into --max-seq-length chunks")
      ("plugin-path", po::value(&plugin_dirs)->composing(), "a directory searched for plugins first (repeatable)")
      ("log-json", po::value(&log_json), "write one JSON event per lifecycle step to this file")
      ("max-shard-size", po::value(&max_shard), "largest output shard, e.g. 2GB, 500MiB (default 5GB)")
      ("memory-budget", po::value(&memory_budget), "fail instead of holding more tensor memory than this, e.g. 4GB (default: no limit); "
                                                   "calibration activations over half of it spill to a file")
      ("matmul", po::value(&matmul), "auto, dtype or float32: how calibration forwards multiply bfloat16/float16 "
                                     "matrices. dtype: in that dtype, as the reference does (its bytes on the same "
                                     "machine); float32: widened, faster on CPUs without bf16/fp16 instructions; "
                                     "auto (default): float32 on such CPUs, else dtype")
      ("plan", "print the estimated time and peak memory of each stage for this model, recipe and machine, "
               "then exit without running (a run logs the same estimate in one line)")
      ("plan-json", po::value(&plan_json), "with --plan: write the estimate as JSON to this file too")
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
  if (vars.count("samples") && samples <= 0) return usage_error("--samples must be positive");
  if (vars.count("max-seq-length") && max_seq_length <= 0) return usage_error("--max-seq-length must be positive");
  if (vars.count("seed") && seed < 0) return usage_error("--seed must be non-negative");
  if (matmul != "auto") {
    run.matmul = exec::parse_matmul_math(matmul);
    if (!run.matmul) return usage_error("--matmul must be auto, dtype or float32");
  }
  if (!plan_json.empty() && !vars.count("plan"))
    return usage_error("--plan-json needs --plan (a run logs its plan as the \"plan\" event of --log-json)");
  if (!plan_json.empty() && plan_json == log_json) return usage_error("--plan-json and --log-json name the same file");
  run.plan_only = vars.count("plan") > 0;
  if (!plan_json.empty()) run.plan_json = plan_json;
  if (!dataset.empty()) run.calibration.dataset = dataset;
  if (vars.count("samples")) run.calibration.samples = samples;
  if (vars.count("max-seq-length")) run.calibration.max_seq_length = max_seq_length;
  if (vars.count("seed")) run.calibration.seed = seed;
  if (vars.count("concatenate")) run.calibration.concatenate = true;
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
  if (summary.plan) {
    std::fputs(summary.plan->table().c_str(), stdout);
    return 0;
  }
  const std::string calibrated = summary.calibration_samples == 0
                                     ? std::string()
                                     : fmt::format(", calibrated on {} samples ({} tokens)", summary.calibration_samples,
                                                   summary.calibration_tokens);
  log::info("wrote {}: {} units, {} modules compressed{}, {} tensors, {} in {:.2f} s", output, summary.units,
            summary.modules_compressed, calibrated, summary.tensors_written, format_bytes(summary.bytes_written),
            summary.seconds);
  return 0;
}

}  // namespace llmc::cli
