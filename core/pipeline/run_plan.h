// core/pipeline/run_plan.h - `llmc oneshot --plan`: the estimated time and peak resident memory of each
// stage of a run, as a table for people and JSON for tools.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/machine_rates.h"
#include "util/expected.h"

namespace llmc::pipeline {

struct PlanStage {
  std::string name;        // "calibrate: modifier 1 (gptq)"
  std::string event;       // the --log-json event whose "seconds" measure this stage ("" when none does)
  std::string modifier;    // for calibrate and compress events: the modifier label they carry
  double seconds = 0;
  uint64_t peak_bytes = 0;  // resident memory at the stage's peak, the process baseline included
  std::string work;         // what the estimate counted, e.g. "30 layers x 8192 tokens, 1.74 TFLOP"
  bool measured = false;    // seconds already spent before the plan (start-up, tokenization), not estimated
};

struct RunPlan {
  std::vector<PlanStage> stages;  // in run order
  MachineRates rates;
  size_t units = 0;               // decoder layers and modules outside them
  size_t samples = 0;             // calibration samples (0: a data-free run)
  uint64_t tokens = 0;            // their tokens

  double seconds() const;
  uint64_t peak_bytes() const;
  /// The run's one-line log: "plan: ~41.8 s, peak ~182.4 MiB (9 stages; --plan shows them)".
  std::string summary() const;
  /// One line per stage: name, seconds, peak, what was counted; then the totals and the measured rates.
  std::string table() const;
  nlohmann::json to_json() const;
  /// to_json() into `path`, indented.
  Status write_json(const std::filesystem::path& path) const;
};

}  // namespace llmc::pipeline
