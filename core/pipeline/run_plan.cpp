// core/pipeline/run_plan.cpp
#include "pipeline/run_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "tensor/format_bytes.h"

namespace llmc::pipeline {
namespace {

std::string giga(double rate) { return fmt::format("{:.1f} G", rate / 1e9); }

}  // namespace

double RunPlan::seconds() const {
  double total = 0;
  for (const auto& stage : stages) total += stage.seconds;
  return total;
}

uint64_t RunPlan::peak_bytes() const {
  uint64_t peak = rates.baseline_rss;
  for (const auto& stage : stages) peak = std::max(peak, stage.peak_bytes);
  return peak;
}

std::string RunPlan::summary() const {
  return fmt::format("plan: ~{:.1f} s, peak ~{} ({} stages; --plan lists them)", seconds(), format_bytes(peak_bytes()),
                     stages.size());
}

std::string RunPlan::table() const {
  size_t width = 5;
  for (const auto& stage : stages) width = std::max(width, stage.name.size() + (stage.measured ? 11 : 0));
  std::string out = samples == 0 ? fmt::format("plan: {} units, data-free\n", units)
                                 : fmt::format("plan: {} units, {} calibration samples, {} tokens\n", units, samples, tokens);
  out += fmt::format("{:<{}}  {:>9}  {:>10}  {}\n", "stage", width, "seconds", "peak RSS", "work");
  for (const auto& stage : stages) {
    const std::string name = stage.measured ? stage.name + " (measured)" : stage.name;
    out += fmt::format("{:<{}}  {:>9.2f}  {:>10}  {}\n", name, width, stage.seconds, format_bytes(stage.peak_bytes),
                       stage.work);
  }
  out += fmt::format("{:<{}}  {:>9.2f}  {:>10}\n", "total", width, seconds(), format_bytes(peak_bytes()));
  std::string linears;
  for (const auto& [shape, rate] : rates.linear_flops)
    linears += fmt::format("{}{}x{} {}FLOP/s", linears.empty() ? "" : ", ", shape.first, shape.second, giga(rate));
  out += fmt::format("measured in {:.2f} s on {} threads: ", rates.probe_seconds, rates.threads);
  if (!linears.empty()) out += fmt::format("Linear (in x out) {}; ", linears);
  if (rates.attention_seconds > 0)
    out += fmt::format("attention {:.2f} ns per head and token^2; ", rates.attention_seconds * 1e9);
  if (rates.fp32_flops > 0)
    out += fmt::format("float32 matmul {}FLOP/s, Hessian factorization {:.1f} ms at n = {} (growing as n^{:.2f}), "
                       "column updates {}FLOP/s; ",
                       giga(rates.fp32_flops), rates.factor_seconds * 1e3, rates.factor_columns, rates.factor_exponent,
                       giga(rates.update_flops));
  if (rates.qparams_seconds > 0)
    out += fmt::format("qparams {:.1f} ns and quantize+pack {:.1f} ns per weight, {:.1f} us per GPTQ column; ",
                       rates.qparams_seconds * 1e9, rates.pack_seconds * 1e9, rates.column_seconds * 1e6);
  out += fmt::format("memcpy {}B/s; checkpoint reads {}B/s cached, {}B/s from disk, {} of {} cached; baseline RSS {}\n",
                     giga(rates.memcpy_bytes), giga(rates.hot_read_bytes), giga(rates.cold_read_bytes),
                     format_bytes(rates.resident_file_bytes), format_bytes(rates.file_bytes),
                     format_bytes(rates.baseline_rss));
  return out;
}

nlohmann::json RunPlan::to_json() const {
  auto list = nlohmann::json::array();
  for (const auto& stage : stages) {
    nlohmann::json item = {{"name", stage.name}, {"seconds", stage.seconds}, {"peak_bytes", stage.peak_bytes},
                           {"work", stage.work}, {"measured", stage.measured}};
    if (!stage.event.empty()) item["event"] = stage.event;
    if (!stage.modifier.empty()) item["modifier"] = stage.modifier;
    list.push_back(std::move(item));
  }
  return {{"seconds", seconds()}, {"peak_bytes", peak_bytes()}, {"units", units},         {"samples", samples},
          {"tokens", tokens},       {"stages", std::move(list)},  {"rates", rates.to_json()}};
}

Status RunPlan::write_json(const std::filesystem::path& path) const {
  std::ofstream out(path);
  out << to_json().dump(2) << "\n";
  out.close();
  if (!out) return Error{fmt::format("cannot write the plan to {}: {}", path.string(), std::strerror(errno))};
  return Status::ok();
}

}  // namespace llmc::pipeline
