// tests/unit/eval/metrics_test.cpp - perplexity, KL and top-1 on logits whose answers are known in closed
// form. Tolerance 1e-9 relative: the sums run in double over fp32 log-softmax of exactly representable
// logits, so only the last fp32 bits of log_softmax differ from the closed form.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "eval/metrics.h"
#include "eval/report.h"

namespace llmc::eval {
namespace {

at::Tensor ids(std::vector<int64_t> values) { return at::tensor(values, at::kLong); }

TEST(Metrics, UniformLogitsHavePerplexityOfTheVocabularySize) {
  ScoreAccumulator scores;
  scores.add(at::zeros({4, 7}), at::Tensor(), ids({1, 2, 3, 4}));
  scores.count_window();
  const EvalScores result = scores.scores();
  EXPECT_EQ(result.windows, 1);
  EXPECT_EQ(result.predicted_tokens, 4);
  EXPECT_NEAR(result.perplexity, 7.0, 7e-6);
  EXPECT_FALSE(result.comparison.has_value());
}

TEST(Metrics, NllIsTheMeanOverAllPredictedTokensOfAllChunks) {
  // Chunk 1 puts logit ln(3) on the target among 2 classes: p = 3/4. Chunk 2 is uniform: p = 1/2.
  const float ln3 = std::log(3.0f);
  ScoreAccumulator scores;
  scores.add(at::tensor({ln3, 0.0f, ln3, 0.0f}).view({2, 2}), at::Tensor(), ids({0, 0}));
  scores.add(at::zeros({1, 2}), at::Tensor(), ids({1}));
  const EvalScores result = scores.scores();
  EXPECT_EQ(result.predicted_tokens, 3);
  const double expected_nll = (2 * -std::log(0.75) - std::log(0.5)) / 3;
  EXPECT_NEAR(result.nll, expected_nll, 1e-6);
  EXPECT_NEAR(result.perplexity, std::exp(expected_nll), 1e-6);
}

TEST(Metrics, IdenticalModelsAgreeCompletely) {
  const at::Tensor logits = at::randn({6, 11}, at::TensorOptions().dtype(at::kFloat));
  ScoreAccumulator scores;
  scores.add(logits, logits.clone(), ids({1, 2, 3, 4, 5, 6}));
  const EvalScores result = scores.scores();
  ASSERT_TRUE(result.comparison.has_value());
  EXPECT_NEAR(result.comparison->mean_kl, 0.0, 1e-7);
  EXPECT_DOUBLE_EQ(result.comparison->top1_agreement, 1.0);
  EXPECT_NEAR(result.comparison->perplexity, result.perplexity, 1e-9 * result.perplexity);
}

TEST(Metrics, KlAndTopOneMatchTheClosedForm) {
  // P = (3/4, 1/4) at both positions; Q = (1/4, 3/4) at the first, P at the second.
  const float ln3 = std::log(3.0f);
  const at::Tensor p = at::tensor({ln3, 0.0f, ln3, 0.0f}).view({2, 2});
  const at::Tensor q = at::tensor({0.0f, ln3, ln3, 0.0f}).view({2, 2});
  ScoreAccumulator scores;
  scores.add(p, q, ids({0, 0}));
  const ComparisonScores c = *scores.scores().comparison;
  const double kl_first = 0.75 * std::log(3.0) + 0.25 * std::log(1.0 / 3.0);
  EXPECT_NEAR(c.mean_kl, kl_first / 2, 1e-6);
  EXPECT_NEAR(c.max_kl, kl_first, 1e-6);
  EXPECT_DOUBLE_EQ(c.top1_agreement, 0.5);
}

TEST(Metrics, ReportCarriesEveryFigure) {
  ScoreAccumulator scores;
  const at::Tensor logits = at::zeros({3, 3});
  scores.add(logits, logits, ids({1, 2, 0}));
  scores.count_window();
  const EvalReport report{"a", "b", "text.txt", 4, 1.5, scores.scores()};
  const nlohmann::json json = to_json(report);
  EXPECT_EQ(json["predicted_tokens"], 3);
  EXPECT_NEAR(json["perplexity"].get<double>(), 3.0, 3e-6);
  EXPECT_EQ(json["compare"]["model"], "b");
  EXPECT_DOUBLE_EQ(json["compare"]["top1_agreement"].get<double>(), 1.0);
  const std::string table = format_table(report);
  EXPECT_NE(table.find("3.0000"), std::string::npos) << table;
  EXPECT_NE(table.find("100.00%"), std::string::npos) << table;
}

}  // namespace
}  // namespace llmc::eval
