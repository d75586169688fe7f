// core/pipeline/machine_probes.h - the probes behind the machine rates of a run's plan: small pieces of the
// run's own work, timed before it (`llmc oneshot --plan`, and the "plan:" line of every run), taking a
// fraction of a second in all.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "exec/matmul_math.h"
#include "pipeline/machine_rates.h"
#include "pipeline/weight_quantization.h"

namespace llmc::pipeline {

/// A weight the run quantizes, with the scheme it is quantized with: the quantization probes run on it.
struct QuantizedWeightSample {
  at::Tensor weight;  // [out, in], as the unit holds it (the checkpoint's dtype)
  RecordedQuantization scheme;
};

/// The shapes of the run that the probes imitate.
struct ProbeWork {
  at::ScalarType dtype = at::kFloat;                  // the compute dtype (the checkpoint's)
  exec::MatmulMath matmul = exec::MatmulMath::dtype;  // of the calibration forwards' Linears and attention
  std::vector<std::pair<int64_t, int64_t>> linears;   // distinct (in, out) of the decoder layers' Linears
  int64_t tokens = 0;                                 // a calibration sample's length; 0: a data-free run
  int64_t heads = 0, head_dim = 0;                    // attention, for calibrated runs
  int64_t hessian_columns = 0;                        // the side of a typical Hessian; 0: no Hessian plugin
  std::optional<QuantizedWeightSample> quantized;     // none: the run quantizes nothing
  std::vector<std::filesystem::path> files;           // the checkpoint's safetensors
  std::filesystem::path write_directory;              // where the output goes (empty: writes not probed)
};

/// Runs the probes (each a few repetitions of a small, fixed amount of work; all together well under a
/// second on the shapes of a 1B model).
MachineRates probe_machine(const ProbeWork& work);

/// VmRSS of this process, from /proc/self/status (0 where it cannot be read).
uint64_t resident_set_bytes();
/// Seconds since this process started (what ran before the plan: loading LibTorch, plugins, the recipe).
double process_age_seconds();

}  // namespace llmc::pipeline
