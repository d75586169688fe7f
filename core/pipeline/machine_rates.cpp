// core/pipeline/machine_rates.cpp
#include "pipeline/machine_rates.h"

#include <algorithm>
#include <cmath>

namespace llmc::pipeline {

double MachineRates::linear_rate(int64_t in, int64_t out) const {
  if (const auto it = linear_flops.find({in, out}); it != linear_flops.end()) return it->second;
  double sum = 0;
  for (const auto& [shape, rate] : linear_flops) sum += rate;
  return linear_flops.empty() ? 1e9 : sum / static_cast<double>(linear_flops.size());
}

double MachineRates::factor_seconds_for(int64_t n) const {
  if (factor_columns == 0) return 0;
  const double columns = static_cast<double>(n);
  const double power_law = factor_seconds * std::pow(columns / static_cast<double>(factor_columns), factor_exponent);
  return std::max(power_law, 4.0 / 3.0 * columns * columns * columns / fp32_flops);
}

double MachineRates::read_seconds(uint64_t bytes) const {
  const double cached = file_bytes == 0 ? 1.0 : static_cast<double>(resident_file_bytes) / static_cast<double>(file_bytes);
  return static_cast<double>(bytes) * (cached / hot_read_bytes + (1 - cached) / cold_read_bytes);
}

double MachineRates::write_seconds(double bytes) const {
  return bytes / (write_bytes > 0 ? write_bytes : memcpy_bytes);
}

nlohmann::json MachineRates::to_json() const {
  auto linears = nlohmann::json::array();
  for (const auto& [shape, rate] : linear_flops)
    linears.push_back({{"in", shape.first}, {"out", shape.second}, {"flops", rate}});
  return {{"threads", threads},
          {"linear_flops", linears},
          {"attention_seconds_per_head_token2", attention_seconds},
          {"fp32_matmul_flops", fp32_flops},
          {"factor_columns", factor_columns},
          {"factor_seconds", factor_seconds},
          {"factor_exponent", factor_exponent},
          {"column_update_flops", update_flops},
          {"column_quantize_seconds", column_seconds},
          {"column_op_seconds", op_seconds},
          {"qparams_seconds_per_element", qparams_seconds},
          {"pack_seconds_per_element", pack_seconds},
          {"memcpy_bytes_per_second", memcpy_bytes},
          {"write_bytes_per_second", write_bytes},
          {"cached_read_bytes_per_second", hot_read_bytes},
          {"disk_read_bytes_per_second", cold_read_bytes},
          {"checkpoint_bytes", file_bytes},
          {"checkpoint_bytes_cached", resident_file_bytes},
          {"baseline_rss", baseline_rss},
          {"probe_seconds", probe_seconds}};
}

}  // namespace llmc::pipeline
