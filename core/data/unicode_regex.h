// core/data/unicode_regex.h - the regexes of tokenizer.json (written for Oniguruma, the engine of Hugging Face
// tokenizers) run with ICU over UTF-8 text.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace llmc::data {

/// A byte range [begin, end) of a UTF-8 string.
struct ByteRange {
  std::size_t begin;
  std::size_t end;
};

/// A compiled regex; immutable, so one may be used from several threads.
class UnicodeRegex {
 public:
  /// Compiles an Oniguruma (Ruby syntax) pattern: \s, \S, \w, \W, ^, $ and . keep Oniguruma's meaning. The
  /// error quotes the pattern and ICU's reason.
  static Expected<UnicodeRegex> compile(std::string_view pattern);

  /// The successive non-overlapping matches in `text` (valid UTF-8), as byte ranges.
  std::vector<ByteRange> find_all(std::string_view text) const;

 private:
  struct Compiled;
  explicit UnicodeRegex(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}

  std::shared_ptr<const Compiled> compiled_;
};

/// The same ranges for a literal `needle` (non-empty), without a regex.
std::vector<ByteRange> find_all_literal(std::string_view text, std::string_view needle);

/// `text` with every range of `matches` (sorted, disjoint) replaced by `content`.
std::string replace_ranges(std::string_view text, const std::vector<ByteRange>& matches, std::string_view content);

}  // namespace llmc::data
