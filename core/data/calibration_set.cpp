// core/data/calibration_set.cpp
#include "data/calibration_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace llmc::data {
namespace {

// A uniform integer in [0, bound] without the modulo bias.
uint64_t uniform_up_to(std::mt19937_64& rng, uint64_t bound) {
  if (bound == std::numeric_limits<uint64_t>::max()) return rng();
  const uint64_t range = bound + 1;
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t draw = 0;
  do {
    draw = rng();
  } while (draw >= limit);
  return draw % range;
}

Expected<std::vector<int32_t>> tokenize(const DatasetRecord& record, const CalibrationOptions& options,
                                        const TextEncoder& encode, const ChatTemplate* chat_template) {
  std::vector<int32_t> ids;
  switch (record.kind) {
    case DatasetRecord::Kind::kTokenIds: ids = record.token_ids; break;
    case DatasetRecord::Kind::kText: ids = encode(record.text, /*add_special_tokens=*/true); break;
    case DatasetRecord::Kind::kMessages: {
      if (chat_template == nullptr) {
        return Error{fmt::format("{}: the record has 'messages' but the model has no chat template", record.origin)};
      }
      auto rendered = chat_template->render(record.messages, /*add_generation_prompt=*/false);
      if (!rendered) return Error{fmt::format("{}: {}", record.origin, rendered.error().message)};
      ids = encode(*rendered, /*add_special_tokens=*/false);
      break;
    }
  }
  if (ids.size() > options.max_seq_length) ids.resize(options.max_seq_length);
  return ids;
}

}  // namespace

size_t CalibrationSet::total_tokens() const {
  size_t total = 0;
  for (const auto& sample : samples) total += sample.size();
  return total;
}

std::vector<size_t> seeded_permutation(size_t count, uint64_t seed) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = count; i > 1; --i) {
    std::swap(order[i - 1], order[uniform_up_to(rng, i - 1)]);
  }
  return order;
}

Expected<CalibrationSet> build_calibration_set(const std::vector<DatasetRecord>& records,
                                               const CalibrationOptions& options, const TextEncoder& encode,
                                               const ChatTemplate* chat_template) {
  if (options.num_samples == 0) return Error{"calibration: num_samples must be at least 1"};
  if (options.max_seq_length == 0) return Error{"calibration: max_seq_length must be at least 1"};
  if (records.empty()) return Error{"calibration: the dataset has no records"};
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (options.shuffle) order = seeded_permutation(records.size(), options.seed);

  // Shuffled: tokenize only as many records as needed. Not shuffled: all of them (longest first below).
  const bool stop_early = options.shuffle || options.concatenate;
  CalibrationSet set;
  std::vector<int32_t> pending;  // concatenated tokens not yet cut into a chunk
  size_t total_tokens = 0;
  for (size_t index : order) {
    if (stop_early && set.samples.size() >= options.num_samples) break;
    auto ids = tokenize(records[index], options, encode, chat_template);
    if (!ids) return ids.error();
    total_tokens += ids->size();
    if (!options.concatenate) {
      if (!ids->empty()) set.samples.push_back(std::move(*ids));
      continue;
    }
    pending.insert(pending.end(), ids->begin(), ids->end());
    size_t consumed = 0;
    while (pending.size() - consumed >= options.max_seq_length && set.samples.size() < options.num_samples) {
      const auto begin = pending.begin() + static_cast<std::ptrdiff_t>(consumed);
      set.samples.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(options.max_seq_length));
      consumed += options.max_seq_length;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(consumed));
  }
  if (!stop_early) {
    std::stable_sort(set.samples.begin(), set.samples.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    if (set.samples.size() > options.num_samples) set.samples.resize(options.num_samples);
  }
  if (set.samples.empty()) {
    if (options.concatenate) {
      return Error{fmt::format("calibration: the dataset's {} tokens do not fill one chunk of max_seq_length {}",
                               total_tokens, options.max_seq_length)};
    }
    return Error{"calibration: every record of the dataset tokenized to nothing"};
  }
  return set;
}

Expected<CalibrationSet> load_calibration_set(const std::filesystem::path& path, const CalibrationOptions& options,
                                              const TextEncoder& encode, const ChatTemplate* chat_template) {
  auto records = read_dataset(path, options.text_column);
  if (!records) return records.error();
  return build_calibration_set(*records, options, encode, chat_template);
}

}  // namespace llmc::data
