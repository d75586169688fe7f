// core/eval/report.cpp - an evaluation's results as a table for people and JSON for tools.
#include "eval/report.h"

#include <fmt/format.h>

namespace llmc::eval {

std::string format_table(const EvalReport& report) {
  const EvalScores& scores = report.scores;
  std::string table = fmt::format("{} windows of up to {} tokens, {} predicted tokens, from {}\n\n", scores.windows,
                                  report.window, scores.predicted_tokens, report.data);
  const bool compared = scores.comparison.has_value();
  table += fmt::format("{:<10} {:>12} {:>12} {:>12} {:>10}  {}\n", "model", "perplexity", "mean KL", "max KL",
                       "top-1", "path");
  table += fmt::format("{:<10} {:>12.4f} {:>12} {:>12} {:>10}  {}\n", "base", scores.perplexity, "", "", "",
                       report.model);
  if (compared) {
    const ComparisonScores& c = *scores.comparison;
    table += fmt::format("{:<10} {:>12.4f} {:>12.6f} {:>12.6f} {:>9.2f}%  {}\n", "compared", c.perplexity,
                         c.mean_kl, c.max_kl, 100.0 * c.top1_agreement, report.compared_model);
  }
  return table;
}

nlohmann::json to_json(const EvalReport& report) {
  const EvalScores& scores = report.scores;
  nlohmann::json json = {
      {"model", report.model},         {"data", report.data},
      {"window", report.window},       {"windows", scores.windows},
      {"predicted_tokens", scores.predicted_tokens},
      {"nll", scores.nll},             {"perplexity", scores.perplexity},
      {"seconds", report.seconds},
  };
  if (scores.comparison) {
    const ComparisonScores& c = *scores.comparison;
    json["compare"] = {{"model", report.compared_model},
                       {"perplexity", c.perplexity},
                       {"mean_kl", c.mean_kl},
                       {"max_kl", c.max_kl},
                       {"top1_agreement", c.top1_agreement}};
  }
  return json;
}

}  // namespace llmc::eval
