// core/data/calibration_set.h - the token sequences a calibrating run feeds the model, made from a
// dataset file as the reference's oneshot() makes them (num_calibration_samples, max_seq_length, shuffle,
// concatenate_data).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_template.h"
#include "data/dataset_reader.h"
#include "util/expected.h"

namespace llmc::data {

/// Text to token ids; add_special_tokens as in transformers (a BOS where the tokenizer adds one).
using TextEncoder = std::function<std::vector<int32_t>(std::string_view text, bool add_special_tokens)>;

struct CalibrationOptions {
  size_t num_samples = 512;  // the reference's num_calibration_samples
  // Samples are truncated to this many tokens (and chunks have this length). The reference takes the
  // model's max length when unset, often 32k-128k tokens today: too much memory for calibration; 2048 is
  // what its examples use.
  size_t max_seq_length = 2048;
  bool shuffle = true;       // as the reference; false takes the longest samples first (its LengthAwareSampler)
  uint64_t seed = 42;        // the shuffle's seed: the same order for a seed on every platform
  bool concatenate = false;  // the reference's concatenate_data: max_seq_length chunks, remainder dropped
  std::string text_column = "text";
};

struct CalibrationSet {
  std::vector<std::vector<int32_t>> samples;  // none empty, none longer than max_seq_length

  size_t total_tokens() const;
};

/// Tokenizes records into samples:
/// - text: encode(text, add_special_tokens=true), as the reference tokenizes its text column;
/// - messages: the chat template's rendering (add_generation_prompt=false), then encode(rendered, false),
///   since the template already writes the special tokens (the reference's examples do the same);
/// - token ids: as they are.
/// Each is truncated to max_seq_length and empty ones are skipped. With shuffle, the records are taken in
/// a seeded random order until num_samples samples (or chunks) exist; without it, every record is tokenized
/// and the longest num_samples are kept (in file order for chunks). With concatenate, the samples are joined
/// in that order and cut into max_seq_length chunks, dropping the remainder. `chat_template` may be null
/// when no record has messages. Errors name the record (file and line or index) at fault, or say that no
/// sample (or not one full chunk) resulted.
Expected<CalibrationSet> build_calibration_set(const std::vector<DatasetRecord>& records,
                                               const CalibrationOptions& options, const TextEncoder& encode,
                                               const ChatTemplate* chat_template);

/// read_dataset(path, options.text_column), then build_calibration_set.
Expected<CalibrationSet> load_calibration_set(const std::filesystem::path& path, const CalibrationOptions& options,
                                              const TextEncoder& encode, const ChatTemplate* chat_template);

/// The order of 0..count-1 that `seed` shuffles to: Fisher-Yates over std::mt19937_64 with rejection
/// sampling, so that it does not depend on the standard library's distributions.
std::vector<size_t> seeded_permutation(size_t count, uint64_t seed);

}  // namespace llmc::data
