// core/eval/report.h - an evaluation's results as a table for people and JSON for tools.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "eval/metrics.h"

namespace llmc::eval {

struct EvalReport {
  std::string model;
  std::string compared_model;  ///< empty without --compare
  std::string data;
  int64_t window = 0;
  double seconds = 0;
  EvalScores scores;
};

std::string format_table(const EvalReport& report);
nlohmann::json to_json(const EvalReport& report);

}  // namespace llmc::eval
