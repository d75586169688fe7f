// core/data/text_pattern.h - the `pattern` of tokenizer.json's Split pre-tokenizer and Replace normalizer and
// decoder: {"String": "literal"} or {"Regex": "oniguruma pattern"}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer_json.h"
#include "data/unicode_regex.h"
#include "util/expected.h"

namespace llmc::data {

class TextPattern {
 public:
  /// Reads `node` (the pattern object); errors name its JSON path.
  static Expected<TextPattern> parse(const JsonNode& node);

  /// The successive non-overlapping matches in `text`.
  std::vector<ByteRange> find_all(std::string_view text) const;
  /// `text` with every match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::optional<UnicodeRegex> regex_;  // set for a Regex pattern
};

}  // namespace llmc::data
