// core/pipeline/plan_estimate.h - the estimate behind `llmc oneshot --plan`: each stage's work counted from
// the checkpoint's shapes (its safetensors headers), the modules each modifier resolved to and the
// calibration samples, divided by rates measured on this machine (machine_rates.h); each stage's resident
// memory summed from what the run holds during it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "exec/matmul_math.h"
#include "model/checkpoint.h"
#include "model/module_map.h"
#include "pipeline/modifier_run.h"
#include "pipeline/run_plan.h"
#include "util/expected.h"

namespace llmc::pipeline {

struct PlanInputs {
  const model::Checkpoint* checkpoint = nullptr;
  const model::ModuleMap* map = nullptr;
  const std::vector<ModifierRun>* runs = nullptr;  // resolved to their modules, as the run will process them
  std::vector<int64_t> sample_tokens;              // per calibration sample; empty: a data-free run
  double tokenize_seconds = 0;                     // what reading and tokenizing the calibration data took
  uint64_t memory_budget = 0;                      // --memory-budget (0: none): where the activation cache lives
  std::filesystem::path output_parent;             // the directory the output goes to (the write probe's)
  std::optional<exec::MatmulMath> matmul;          // --matmul (none: auto), for the calibration forwards' rates
};

/// Probes this machine with the run's shapes, then estimates every stage.
Expected<RunPlan> plan_run(const PlanInputs& inputs);

/// The estimate with given rates; `startup_seconds` is what the process spent before (start-up, probes).
Expected<RunPlan> estimate_run(const PlanInputs& inputs, const MachineRates& rates, double startup_seconds);

}  // namespace llmc::pipeline
