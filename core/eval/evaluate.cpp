// core/eval/evaluate.cpp - `llmc eval`: score one model, or compare two, window by window.
#include "eval/evaluate.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "eval/eval_text.h"
#include "eval/token_windows.h"
#include "exec/model_runner.h"
#include "util/log.h"
#include "util/progress.h"

namespace llmc::eval {
namespace {

using Windows = std::vector<std::vector<int32_t>>;

/// Consecutive windows of equal length, batch_size at a time (only the tail window can be shorter).
std::vector<exec::Batch> batch_windows(const Windows& windows, int64_t batch_size) {
  std::vector<exec::Batch> batches;
  size_t begin = 0;
  while (begin < windows.size()) {
    size_t end = begin;
    while (end < windows.size() && end - begin < static_cast<size_t>(batch_size) &&
           windows[end].size() == windows[begin].size()) {
      ++end;
    }
    const auto length = static_cast<int64_t>(windows[begin].size());
    at::Tensor ids = at::empty({static_cast<int64_t>(end - begin), length}, at::kLong);
    for (size_t row = begin; row < end; ++row) {
      ids[static_cast<int64_t>(row - begin)].copy_(at::tensor(windows[row], at::kInt));
    }
    batches.push_back(exec::Batch{ids, at::Tensor()});
    begin = end;
  }
  return batches;
}

Expected<at::Device> parse_device(const std::string& text) {
  try {
    const at::Device device(text);
    if (device.is_cuda() && !at::hasCUDA()) {
      return Error{fmt::format("--device {}: this llmc build or machine has no CUDA", text)};
    }
    return device;
  } catch (const c10::Error&) {
    return Error{fmt::format("--device {}: expected cpu, cuda or cuda:N", text)};
  }
}

/// A model's final hidden states for every batch, and its head.
struct ScoredModel {
  std::vector<at::Tensor> hidden;
  exec::Head head;
};

Expected<ScoredModel> stream_model(exec::ModelRunner& runner, const std::filesystem::path& dir,
                                   const std::vector<exec::Batch>& batches, bool show_progress) {
  Progress progress(show_progress && stderr_is_terminal());
  progress.start(fmt::format("eval {}", dir.filename().string()), runner.architecture().num_layers);
  exec::StreamHooks hooks;
  hooks.on_layer = [&](exec::DecoderLayer& layer) {
    progress.update(static_cast<uint64_t>(layer.index() + 1));
    return Status::ok();
  };
  auto hidden = runner.final_hidden_states(batches, hooks);
  progress.finish();
  LLMC_TRY(hidden);
  auto head = runner.load_head();
  LLMC_TRY(head);
  return ScoredModel{std::move(*hidden), std::move(*head)};
}

// Logits are [positions, vocabulary] in fp32 (SmolLM2: 196 KB a position), so the head runs on this
// many positions at a time instead of whole windows.
constexpr int64_t kPositionsPerChunk = 128;

// The head gets [1, count, hidden], the shape a model hands its head, so that a head with per-token dynamic
// activation quantization reduces each position on its own.
Expected<at::Tensor> chunk_logits(const ScoredModel& model, size_t batch, int64_t row, int64_t begin, int64_t count) {
  auto logits = model.head.forward(model.hidden[batch].narrow(0, row, 1).narrow(1, begin, count));
  LLMC_TRY(logits);
  return logits->squeeze(0).cpu();
}

Status score(ScoredModel& model, ScoredModel* compared, const std::vector<exec::Batch>& batches,
             ScoreAccumulator& scores) {
  for (size_t b = 0; b < batches.size(); ++b) {
    const at::Tensor& ids = batches[b].ids;
    const int64_t predicting = ids.size(1) - 1;  // the last position predicts past the window
    for (int64_t row = 0; row < ids.size(0); ++row) {
      for (int64_t begin = 0; begin < predicting; begin += kPositionsPerChunk) {
        const int64_t count = std::min(kPositionsPerChunk, predicting - begin);
        auto logits = chunk_logits(model, b, row, begin, count);
        LLMC_TRY(logits);
        at::Tensor compared_logits;
        if (compared) {
          auto other = chunk_logits(*compared, b, row, begin, count);
          LLMC_TRY(other);
          compared_logits = std::move(*other);
        }
        scores.add(*logits, compared_logits, ids[row].narrow(0, begin + 1, count));
      }
      scores.count_window();
    }
    model.hidden[b] = at::Tensor();
    if (compared) compared->hidden[b] = at::Tensor();
  }
  return Status::ok();
}

}  // namespace

Expected<EvalReport> evaluate(const EvalOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (options.batch_size < 1) return Error{fmt::format("the batch size must be at least 1, got {}", options.batch_size)};
  auto device = parse_device(options.device);
  LLMC_TRY(device);
  auto tokenizer = data::Tokenizer::load(options.model / "tokenizer.json");
  LLMC_TRY(tokenizer);
  auto tokens = read_eval_tokens(options.data, *tokenizer);
  LLMC_TRY(tokens);
  auto windows = split_windows(*tokens, options.window, options.max_windows);
  if (!windows) return Error{fmt::format("{}: {}", options.data.string(), windows.error().message)};
  const std::vector<exec::Batch> batches = batch_windows(*windows, options.batch_size);
  log::info("eval: {} tokens from {}, {} windows of up to {} tokens", tokens->size(), options.data.string(),
            windows->size(), options.window);

  const exec::ComputeOptions compute{at::kFloat, *device};
  auto runner = exec::ModelRunner::open(options.model, compute);
  LLMC_TRY(runner);
  std::unique_ptr<exec::ModelRunner> compared_runner;
  if (options.compared_model) {
    auto opened = exec::ModelRunner::open(*options.compared_model, compute);
    LLMC_TRY(opened);
    compared_runner = std::move(*opened);
    // Checked before any forward pass: the models' log-probabilities are compared token by token.
    if (compared_runner->architecture().vocab_size != (*runner)->architecture().vocab_size) {
      return Error{fmt::format("{} has a vocabulary of {} tokens and {} of {}: they cannot be compared",
                               options.model.string(), (*runner)->architecture().vocab_size,
                               options.compared_model->string(), compared_runner->architecture().vocab_size)};
    }
  }
  auto model = stream_model(**runner, options.model, batches, options.progress);
  LLMC_TRY(model);
  std::optional<ScoredModel> compared;
  if (compared_runner) {
    auto other = stream_model(*compared_runner, *options.compared_model, batches, options.progress);
    LLMC_TRY(other);
    compared = std::move(*other);
  }
  ScoreAccumulator scores;
  LLMC_TRY(score(*model, compared ? &*compared : nullptr, batches, scores));

  EvalReport report;
  report.model = options.model.string();
  report.compared_model = options.compared_model ? options.compared_model->string() : "";
  report.data = options.data.string();
  report.window = options.window;
  report.scores = scores.scores();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace llmc::eval
