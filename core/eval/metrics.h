// core/eval/metrics.h - perplexity of a model, and how far a second model's next-token distributions
// are from the first's (KL divergence, top-1 agreement), accumulated window by window.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace llmc::eval {

struct ComparisonScores {
  double perplexity = 0;     ///< the compared model's own perplexity
  double mean_kl = 0;        ///< mean over predicted tokens of KL(P_model || P_compared), in nats
  double max_kl = 0;         ///< the largest per-token KL
  double top1_agreement = 0; ///< fraction of tokens where both models' most likely next token is the same
};

struct EvalScores {
  int64_t windows = 0;
  int64_t predicted_tokens = 0;
  double nll = 0;        ///< mean negative log-likelihood per predicted token, in nats
  double perplexity = 0; ///< exp(nll)
  std::optional<ComparisonScores> comparison;
};

/// Sums in double precision, so the result does not depend on how the text was batched or chunked.
class ScoreAccumulator {
 public:
  /// The logits [N, V] of N predicting positions and the token each should predict, `targets` [N];
  /// `compared_logits` the compared model's logits at the same positions, or undefined.
  void add(const at::Tensor& logits, const at::Tensor& compared_logits, const at::Tensor& targets);
  /// Counts one scored window (for the report only).
  void count_window() { ++windows_; }
  EvalScores scores() const;

 private:
  int64_t windows_ = 0;
  int64_t tokens_ = 0;
  double nll_sum_ = 0;
  bool compared_ = false;
  double compared_nll_sum_ = 0;
  double kl_sum_ = 0;
  double kl_max_ = 0;
  int64_t top1_matches_ = 0;
};

}  // namespace llmc::eval
