// core/data/unicode_regex.cpp
#include "data/unicode_regex.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <fmt/format.h>

#include "data/utf8.h"

namespace llmc::data {

struct UnicodeRegex::Compiled {
  std::unique_ptr<icu::RegexPattern> pattern;
};

namespace {

// Oniguruma's \s is Unicode White_Space (ICU's adds nothing for \v and U+0085), its \w is Letter, Mark, Number
// and Connector_Punctuation (ICU's omits No and Nl); both spellings also work inside a bracket expression.
std::string to_icu_syntax(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char escaped = pattern[++i];
    switch (escaped) {
      case 's': out += "\\p{White_Space}"; break;
      case 'S': out += "\\P{White_Space}"; break;
      case 'w': out += "[\\p{L}\\p{M}\\p{N}\\p{Pc}]"; break;
      case 'W': out += "[^\\p{L}\\p{M}\\p{N}\\p{Pc}]"; break;
      default:
        out += '\\';
        out += escaped;
    }
  }
  return out;
}

// UTF-16 of `text`, and the UTF-8 byte offset of every UTF-16 index (one past the end included).
icu::UnicodeString to_utf16(std::string_view text, std::vector<std::size_t>& byte_offsets) {
  icu::UnicodeString utf16(static_cast<int32_t>(text.size()), UChar32{0}, 0);  // capacity only
  byte_offsets.clear();
  byte_offsets.reserve(text.size() + 1);
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t start = pos;
    const char32_t code_point = next_code_point(text, pos);
    utf16.append(static_cast<UChar32>(code_point));
    byte_offsets.push_back(start);
    if (code_point > 0xFFFF) byte_offsets.push_back(start);  // the low surrogate
  }
  byte_offsets.push_back(text.size());
  return utf16;
}

}  // namespace

Expected<UnicodeRegex> UnicodeRegex::compile(std::string_view pattern) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error{};
  const icu::UnicodeString icu_pattern = icu::UnicodeString::fromUTF8(to_icu_syntax(pattern));
  // Ruby syntax: ^ and $ match at every line, . matches all but \n.
  auto compiled = std::make_shared<Compiled>();
  compiled->pattern.reset(
      icu::RegexPattern::compile(icu_pattern, UREGEX_MULTILINE | UREGEX_UNIX_LINES, parse_error, status));
  if (U_FAILURE(status))
    return Error{fmt::format("regex \"{}\" does not compile: {} at character {}", pattern, u_errorName(status),
                             parse_error.offset)};
  return UnicodeRegex(std::move(compiled));
}

std::vector<ByteRange> UnicodeRegex::find_all(std::string_view text) const {
  std::vector<ByteRange> matches;
  if (text.empty()) return matches;
  std::vector<std::size_t> byte_offsets;
  const icu::UnicodeString utf16 = to_utf16(text, byte_offsets);
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> matcher(compiled_->pattern->matcher(utf16, status));
  // No backtracking stack limit: a long run of letters must not end the matching early. What can still fail
  // is an allocation, which ends the matches here.
  if (U_SUCCESS(status)) matcher->setStackLimit(0, status);
  while (U_SUCCESS(status) && matcher->find(status)) {
    const int32_t begin = matcher->start(status);
    const int32_t end = matcher->end(status);
    if (U_FAILURE(status)) break;
    matches.push_back({byte_offsets[begin], byte_offsets[end]});
  }
  return matches;
}

std::vector<ByteRange> find_all_literal(std::string_view text, std::string_view needle) {
  std::vector<ByteRange> matches;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos)) {
    matches.push_back({pos, pos + needle.size()});
    pos += needle.size();
  }
  return matches;
}

std::string replace_ranges(std::string_view text, const std::vector<ByteRange>& matches, std::string_view content) {
  std::string out;
  out.reserve(text.size());
  std::size_t previous = 0;
  for (const ByteRange& match : matches) {
    out.append(text.substr(previous, match.begin - previous));
    out.append(content);
    previous = match.end;
  }
  out.append(text.substr(previous));
  return out;
}

}  // namespace llmc::data
