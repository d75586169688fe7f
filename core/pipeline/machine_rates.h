// core/pipeline/machine_rates.h - what this machine does per second with a run's shapes (measured by
// machine_probes.h): the estimate (plan_estimate.h) divides each stage's work by these rates.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <utility>

namespace llmc::pipeline {

/// Seconds and rates measured on this machine, on the run's thread count.
struct MachineRates {
  int threads = 1;
  std::map<std::pair<int64_t, int64_t>, double> linear_flops;  // (in, out) -> a Linear's FLOP/s as the run computes it
  double attention_seconds = 0;  // eager attention, per head and per tokens^2 of a sample
  double fp32_flops = 0;         // float32 matmul X^T X (Hessians, GPTQ's block propagation)
  int64_t factor_columns = 0;    // GPTQ's factorization (Cholesky, inverse, Cholesky) of a float32 matrix this wide
  double factor_seconds = 0;     // took this long,
  double factor_exponent = 3;    // and grows as n^exponent beyond it (up to the matmul rate: factor_seconds(n))
  double update_flops = 0;       // GPTQ's and SparseGPT's in-block column updates (w -= e * h), per second
  double column_seconds = 0;     // fake-quantizing one weight column with the run's scheme (GPTQ's host call)
  double op_seconds = 0;         // one small ATen op on a weight column (SparseGPT's per-column steps)
  double qparams_seconds = 0;    // per weight element: computing its qparams with the run's scheme
  double pack_seconds = 0;       // per weight element: quantizing and packing it into the scheme's format
  double memcpy_bytes = 0;       // copying memory, per second
  double write_bytes = 0;        // writing a new file through the page cache, per second
  double hot_read_bytes = 0;     // reading checkpoint bytes the page cache holds, per second
  double cold_read_bytes = 0;    // reading checkpoint bytes from the disk (= hot when all are cached)
  uint64_t resident_file_bytes = 0;  // of the checkpoint's files, held by the page cache now
  uint64_t file_bytes = 0;
  uint64_t baseline_rss = 0;     // VmRSS after the probes: LibTorch, plugins, the checkpoint's headers (plan_run sets it)
  double probe_seconds = 0;

  /// at::linear's rate for (in, out), or the mean of the measured shapes for one not probed.
  double linear_rate(int64_t in, int64_t out) const;
  /// Seconds to factor an n x n Hessian: the probe's power law, at least (4/3) n^3 FLOPs at the matmul rate.
  double factor_seconds_for(int64_t n) const;
  /// Seconds to read `bytes` of the checkpoint, in the proportion of cached and uncached bytes now.
  double read_seconds(uint64_t bytes) const;
  /// Seconds to write `bytes` of new file data (at the memcpy rate where writes were not probed).
  double write_seconds(double bytes) const;
  nlohmann::json to_json() const;
};

}  // namespace llmc::pipeline
