// core/data/added_vocabulary.h - tokenizer.json's `added_tokens` (special tokens like <|im_start|> and plain
// added ones): found in the text before anything else, and never split.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/bpe_model.h"
#include "data/normalizer.h"
#include "data/string_map.h"
#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

struct AddedToken {
  std::string content;
  bool single_word = false;  // matches only where no word character touches it
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool normalized = true;    // matched in the normalized text rather than the raw text
  bool special = false;      // skipped by decode(skip_special_tokens)
};

/// A stretch of the input: an added token, or (normalized) text for the pre-tokenizer.
struct TextSegment {
  std::optional<int32_t> token_id;
  std::string text;            // when not a token
  bool at_text_start = false;  // the text begins where the input begins
};

class AddedVocabulary {
 public:
  /// Reads `added_tokens` (null: none) and gives ids as tokenizers does: a token the model knows keeps the
  /// model's id, the others follow the model's vocabulary in order (the file's "id" is not consulted).
  static Expected<AddedVocabulary> parse(const JsonNode& node, const BpeModel& model, const Normalizer* normalizer);

  /// Splits `text` on the tokens matched in the raw text, normalizes the rest, then splits that on the tokens
  /// matched in normalized text. Segments are never empty.
  std::vector<TextSegment> split(std::string_view text, const Normalizer* normalizer) const;

  std::optional<int32_t> token_to_id(std::string_view content) const;
  /// The token's text as decode sees it (the normalized content of a normalized token); nullptr if none.
  const std::string* id_to_token(int32_t id) const;
  bool is_special(std::string_view token) const { return special_.find(token) != special_.end(); }
  /// The distinct added tokens.
  std::size_t size() const { return ids_by_content_.size(); }
  /// Every added token's content and id.
  const StringMap<int32_t>& ids_by_content() const { return ids_by_content_; }

 private:
  // Leftmost-longest, non-overlapping search for a set of strings (tokenizers uses Aho-Corasick in that mode).
  class Matcher {
   public:
    void add(std::string pattern, int32_t id);
    /// The longest pattern that starts at `pos`, if any.
    std::optional<std::pair<std::size_t, int32_t>> longest_at(std::string_view text, std::size_t pos) const;
    bool empty() const { return patterns_.empty(); }

   private:
    std::vector<std::pair<std::string, int32_t>> patterns_;
    std::array<std::vector<std::size_t>, 256> by_first_byte_;  // indices into patterns_, longest first
  };
  struct Match {
    std::size_t begin;
    std::size_t end;
    std::optional<int32_t> token_id;
  };

  std::vector<Match> find_matches(std::string_view sentence, const Matcher& matcher) const;

  StringMap<int32_t> ids_by_content_;
  std::unordered_map<int32_t, AddedToken> tokens_by_id_;
  std::unordered_map<int32_t, std::string> normalized_contents_;  // where normalizing changes the content
  StringSet special_;
  Matcher raw_matcher_;
  Matcher normalized_matcher_;
};

}  // namespace llmc::data
