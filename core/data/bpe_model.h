// core/data/bpe_model.h - tokenizer.json's `model` of type BPE: a vocabulary and ranked merges, applied to one
// pre-tokenized word at a time exactly as Hugging Face tokenizers does (lowest rank first, leftmost on ties).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/string_map.h"
#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

class BpeModel {
 public:
  /// Reads `node` (the model object): vocab, merges as "a b" strings or [a, b] pairs, unk_token, fuse_unk,
  /// byte_fallback, ignore_merges, continuing_subword_prefix, end_of_word_suffix. Errors name the file and key.
  static Expected<BpeModel> parse(const JsonNode& node);

  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;
  ~BpeModel();

  /// Appends the ids of one word (valid UTF-8, not empty). Thread-safe; results are cached per word.
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  /// nullptr when no token has `id`.
  const std::string* id_to_token(int32_t id) const;
  /// The number of vocabulary entries.
  std::size_t vocab_size() const { return vocab_.size(); }

 private:
  struct Merge {
    uint32_t rank;
    int32_t merged_id;
  };
  struct Cache;

  BpeModel();
  std::vector<int32_t> merge_word(std::string_view word) const;
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
  }

  StringMap<int32_t> vocab_;
  std::unordered_map<int32_t, const std::string*> tokens_by_id_;  // points at vocab_'s keys
  std::unordered_map<uint64_t, Merge> merges_;                     // by pair_key(left id, right id)
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<Cache> cache_;
};

}  // namespace llmc::data
