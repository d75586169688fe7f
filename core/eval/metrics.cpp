// core/eval/metrics.cpp - perplexity, KL divergence and top-1 agreement, accumulated window by window.
#include "eval/metrics.h"

#include <ATen/ATen.h>

#include <cmath>

namespace llmc::eval {
namespace {

double target_nll_sum(const at::Tensor& log_probs, const at::Tensor& targets) {
  return -log_probs.gather(1, targets.unsqueeze(1)).to(at::kDouble).sum().item<double>();
}

}  // namespace

void ScoreAccumulator::add(const at::Tensor& logits, const at::Tensor& compared_logits, const at::Tensor& targets) {
  if (targets.numel() == 0) return;
  const at::Tensor target_ids = targets.to(at::kLong);
  const at::Tensor log_probs = at::log_softmax(logits.to(at::kFloat), -1);
  nll_sum_ += target_nll_sum(log_probs, target_ids);
  tokens_ += targets.numel();
  if (!compared_logits.defined()) return;

  compared_ = true;
  const at::Tensor compared_log_probs = at::log_softmax(compared_logits.to(at::kFloat), -1);
  compared_nll_sum_ += target_nll_sum(compared_log_probs, target_ids);
  const at::Tensor kl = (log_probs.exp() * (log_probs - compared_log_probs)).sum(-1).to(at::kDouble);
  kl_sum_ += kl.sum().item<double>();
  kl_max_ = std::max(kl_max_, kl.max().item<double>());
  top1_matches_ += log_probs.argmax(-1).eq(compared_log_probs.argmax(-1)).sum().item<int64_t>();
}

EvalScores ScoreAccumulator::scores() const {
  EvalScores scores;
  scores.windows = windows_;
  scores.predicted_tokens = tokens_;
  if (tokens_ == 0) return scores;
  const auto tokens = static_cast<double>(tokens_);
  scores.nll = nll_sum_ / tokens;
  scores.perplexity = std::exp(scores.nll);
  if (compared_) {
    scores.comparison = ComparisonScores{std::exp(compared_nll_sum_ / tokens), kl_sum_ / tokens, kl_max_,
                                         static_cast<double>(top1_matches_) / tokens};
  }
  return scores;
}

}  // namespace llmc::eval
