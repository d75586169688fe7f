// tools/llmc/cmd_eval.cpp - `llmc eval`.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli_options.h"
#include "commands.h"
#include "eval/evaluate.h"
#include "util/log.h"

namespace llmc::cli {
namespace {

constexpr const char* kUsage = R"(usage: llmc eval --model DIR [--compare DIR] --data FILE [options]

Scores a checkpoint on a text: the perplexity over non-overlapping windows of --window tokens (each window
scored on its own: its first token is context only). With --compare, the second checkpoint is run on the
same tokens and compared with the first: its perplexity, the mean and largest KL divergence of its
next-token distributions from the first model's, and how often both rank the same next token first.
Both models run one decoder layer at a time in fp32 from their memory-mapped checkpoints (compressed
checkpoints are decompressed layer by layer). The text is tokenized with --model's tokenizer.json: a .txt
file as one text, a .json/.jsonl dataset's "text" records joined with blank lines, or its "input_ids".)";

}  // namespace

int run_eval_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string model, compare, data, json_path, device = "cpu";
  eval::EvalOptions run;
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("model", po::value(&model)->required(), "the checkpoint to score (its tokenizer.json tokenizes the text)")
      ("compare", po::value(&compare), "a second checkpoint to compare with --model (same vocabulary)")
      ("data", po::value(&data)->required(), "the evaluation text: .txt, .json or .jsonl")
      ("window", po::value(&run.window)->default_value(512), "tokens per window")
      ("max-windows", po::value(&run.max_windows)->default_value(0), "score at most this many windows (0: all)")
      ("batch-size", po::value(&run.batch_size)->default_value(8), "windows per forward batch")
      ("device", po::value(&device), "cpu, cuda or cuda:N (default cpu)")
      ("json", po::value(&json_path), "also write the results as JSON to this file")
      ("quiet,q", "no progress display and no table");
  po::variables_map vars;
  int exit_code = 0;
  if (!parse_command_line(args, kUsage, options, vars, exit_code)) return exit_code;

  run.model = model;
  if (!compare.empty()) run.compared_model = compare;
  run.data = data;
  run.device = device;
  const bool quiet = vars.count("quiet") > 0;
  run.progress = !quiet;
  if (quiet) log::set_level(log::Level::warning);

  for (const std::string& dir : {model, compare}) {
    if (!dir.empty() && !std::filesystem::is_regular_file(std::filesystem::path(dir) / "config.json")) {
      log::write(log::Level::error, fmt::format("{}: not a checkpoint directory (no config.json)", dir));
      return 5;
    }
  }
  const auto report = eval::evaluate(run);
  if (!report) {
    log::write(log::Level::error, report.error().message);
    return 1;
  }
  if (!quiet) std::fputs(eval::format_table(*report).c_str(), stdout);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << eval::to_json(*report).dump(2) << "\n";
    if (!out) {
      log::write(log::Level::error, fmt::format("{}: cannot write the JSON results", json_path));
      return 1;
    }
  }
  return 0;
}

}  // namespace llmc::cli
