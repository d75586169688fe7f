// core/data/text_pattern.cpp
#include "data/text_pattern.h"

namespace llmc::data {

Expected<TextPattern> TextPattern::parse(const JsonNode& node) {
  TextPattern pattern;
  if (const JsonNode literal = node["String"]; !literal.is_null()) {
    auto text = literal.as_string();
    if (!text) return text.error();
    if (text->empty()) return literal.error("must not be empty");
    pattern.literal_ = std::move(*text);
    return pattern;
  }
  if (const JsonNode regex = node["Regex"]; !regex.is_null()) {
    auto text = regex.as_string();
    if (!text) return text.error();
    auto compiled = UnicodeRegex::compile(*text);
    if (!compiled) return regex.error(compiled.error().message);
    pattern.regex_ = std::move(*compiled);
    return pattern;
  }
  return node.error("must be {\"String\": ...} or {\"Regex\": ...}");
}

std::vector<ByteRange> TextPattern::find_all(std::string_view text) const {
  return regex_ ? regex_->find_all(text) : find_all_literal(text, literal_);
}

std::string TextPattern::replace_all(std::string_view text, std::string_view content) const {
  return replace_ranges(text, find_all(text), content);
}

}  // namespace llmc::data
