// core/eval/evaluate.h - `llmc eval`: perplexity of a model on a text, and with a second model, how far its
// next-token distributions are from the first's; both run layer by layer from their checkpoints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "eval/report.h"
#include "util/expected.h"

namespace llmc::eval {

struct EvalOptions {
  std::filesystem::path model;
  std::optional<std::filesystem::path> compared_model;  ///< --compare: scored against `model`
  std::filesystem::path data;
  int64_t window = 512;       ///< tokens per window
  int64_t max_windows = 0;    ///< 0: every window of the text
  int64_t batch_size = 8;     ///< windows per forward batch
  std::string device = "cpu"; ///< "cpu" or "cuda[:N]"
  bool progress = true;
};

/// Tokenizes the data with `model`'s tokenizer.json, splits it into windows (token_windows.h), runs each
/// model over them one layer at a time in fp32, and scores every window. The models must share a
/// vocabulary. Errors name the file or tensor at fault.
Expected<EvalReport> evaluate(const EvalOptions& options);

}  // namespace llmc::eval
