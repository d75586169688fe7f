// tools/llmc/cmd_import_gguf.cpp - `llmc import-gguf`.
#include <cstdio>
#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "model/gguf_import.h"
#include "tensor/format_bytes.h"
#include "util/log.h"

namespace llmc::cli {
namespace {

constexpr const char* kUsage = R"(usage: llmc import-gguf FILE.gguf --output DIR [options]

Converts a GGUF file (llama.cpp's format; architectures llama, qwen2, qwen3 with a byte-level BPE tokenizer)
into a Hugging Face checkpoint: every tensor dequantized and rounded to bfloat16 in model.safetensors,
config.json, generation_config.json, tokenizer.json, tokenizer_config.json and chat_template.jinja. The
output is written into a temporary directory beside it and renamed into place only when complete.

exit codes: 0 success, 1 writing the output failed or it exists (without --overwrite), 2 bad command line,
5 the GGUF file is missing, corrupt or unsupported.)";

// The exit codes of the `llmc` command (main.cpp's table).
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBadInput = 5;

}  // namespace

int run_import_gguf_command(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  std::string gguf, output, max_shard = "5GB";
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("gguf", po::value(&gguf)->required(), "the GGUF file (also the first positional argument)")
      ("output", po::value(&output)->required(), "output checkpoint directory (must not exist, see --overwrite)")
      ("overwrite", "replace --output if it exists (only once the new output is complete)")
      ("max-shard-size", po::value(&max_shard), "largest output shard, e.g. 2GB, 500MiB (default 5GB)")
      ("quiet,q", "no progress display and no summary line");
  po::positional_options_description positional;
  positional.add("gguf", 1);
  po::variables_map vars;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vars);
    if (vars.count("help")) {
      std::printf("%s\n\n", kUsage);
      options.print(std::cout);
      return 0;
    }
    po::notify(vars);
  } catch (const po::error& e) {
    std::fprintf(stderr, "llmc: import-gguf: %s\n\n%s\n", e.what(), kUsage);
    return kExitUsage;
  }
  const auto shard = parse_byte_size(max_shard);
  if (!shard || *shard == 0) {
    std::fprintf(stderr, "llmc: import-gguf: --max-shard-size is not a size (examples: 2GB, 500MiB, 1000000)\n");
    return kExitUsage;
  }
  if (vars.count("quiet")) log::set_level(log::Level::warning);

  model::GgufImportOptions run;
  run.gguf = gguf;
  run.output = output;
  run.overwrite = vars.count("overwrite") > 0;
  run.progress = vars.count("quiet") == 0;
  run.max_shard_bytes = *shard;
  const auto result = model::import_gguf(run);
  if (const auto* error = std::get_if<model::GgufImportError>(&result)) {
    log::write(log::Level::error, error->message);
    return error->failure == model::GgufImportFailure::input ? kExitBadInput : kExitFailure;
  }
  const auto& summary = std::get<model::GgufImportSummary>(result);
  log::info("wrote {}: {} tensors, {} of bf16 in {} shard{}, {:.2f} s", summary.output.string(), summary.tensors,
            format_bytes(summary.bytes), summary.shards, summary.shards == 1 ? "" : "s", summary.seconds);
  return 0;
}

}  // namespace llmc::cli
