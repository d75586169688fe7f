// core/pipeline/oneshot.h - `llmc oneshot`: a recipe applied to a checkpoint, written to a new one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "exec/matmul_math.h"
#include "pipeline/run_plan.h"

namespace llmc::pipeline {

/// Command-line calibration settings; each overrides the recipe's [calibration] key.
struct CalibrationFlags {
  std::optional<std::filesystem::path> dataset;  // relative to the working directory
  std::optional<int64_t> samples;
  std::optional<int64_t> max_seq_length;
  std::optional<int64_t> seed;
  std::optional<bool> concatenate;
};

struct OneshotOptions {
  std::filesystem::path model;   // a Hugging Face checkpoint directory
  std::filesystem::path recipe;  // a TOML recipe
  std::filesystem::path output;  // the directory to create (written aside, renamed when complete)
  std::vector<std::filesystem::path> plugin_dirs;
  std::optional<std::filesystem::path> log_json;
  bool overwrite = false;
  uint64_t max_shard_bytes = 5'000'000'000;
  uint64_t memory_budget = 0;    // bytes; 0 = unlimited
  bool progress = true;          // draw a progress line (only on a terminal)
  bool plan_only = false;        // --plan: estimate every stage, run none, write nothing at `output`
  std::optional<std::filesystem::path> plan_json;  // with plan_only: the estimate as JSON
  CalibrationFlags calibration;
  std::optional<exec::MatmulMath> matmul;  // --matmul of the calibration forwards; none: auto (the CPU decides)
};

/// The documented exit codes of the `llmc` command.
enum class ExitCode : int {
  ok = 0,
  failure = 1,  // the run failed: a plugin reported an error, I/O failed, memory budget exceeded
  usage = 2,    // bad command line
  recipe = 3,   // the recipe is invalid, or a plugin rejected its keys
  plugin = 4,   // a plugin is missing, broken, or ABI-incompatible
  model = 5,    // the input checkpoint is missing, corrupt or inconsistent
};

struct RunError {
  ExitCode code;
  std::string message;
};

struct RunSummary {
  size_t units = 0;             // layers and outside-layer modules processed
  size_t calibration_samples = 0;  // 0 for a data-free run
  size_t calibration_tokens = 0;
  size_t modules_compressed = 0;
  size_t tensors_written = 0;
  uint64_t bytes_written = 0;
  double seconds = 0;
  std::optional<RunPlan> plan;  // set by a plan_only run, which ran nothing else
};

using OneshotResult = std::variant<RunSummary, RunError>;

/// The lifecycle: initialize every modifier, then per unit (decoder layer, or module outside the layers)
/// calibrate (for modifiers whose plugin calibrates, on the cached hidden states of the calibration
/// samples) and compress with each modifier in recipe order, propagate, and write the unit; then finalize.
/// A recipe without a calibrating modifier streams tensors shard by shard and needs no architecture.
OneshotResult run_oneshot(const OneshotOptions& options);

}  // namespace llmc::pipeline
