// core/data/added_vocabulary.cpp
#include "data/added_vocabulary.h"

#include <unicode/uchar.h>

#include <algorithm>

#include "data/utf8.h"

namespace llmc::data {
namespace {

// Rust regex's \w, which tokenizers uses for single_word: Alphabetic, Mark, Decimal_Number,
// Connector_Punctuation, Join_Control.
bool is_word_char(char32_t character) {
  const auto c = static_cast<UChar32>(character);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) return true;
  const int32_t mask = U_GET_GC_MASK(c);
  return (mask & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

bool is_whitespace(char32_t character) { return u_isUWhiteSpace(static_cast<UChar32>(character)); }

Expected<AddedToken> parse_token(const JsonNode& node) {
  AddedToken token;
  auto content = node.string("content");
  if (!content) return content.error();
  token.content = std::move(*content);
  for (auto [key, flag, fallback] : {std::tuple{"single_word", &token.single_word, false},
                                     std::tuple{"lstrip", &token.lstrip, false},
                                     std::tuple{"rstrip", &token.rstrip, false},
                                     std::tuple{"normalized", &token.normalized, true},
                                     std::tuple{"special", &token.special, false}}) {
    auto value = node.boolean(key, fallback);
    if (!value) return value.error();
    *flag = *value;
  }
  return token;
}

bool same_flags(const AddedToken& a, const AddedToken& b) {
  return a.content == b.content && a.single_word == b.single_word && a.lstrip == b.lstrip && a.rstrip == b.rstrip &&
         a.normalized == b.normalized && a.special == b.special;
}

}  // namespace

void AddedVocabulary::Matcher::add(std::string pattern, int32_t id) {
  auto& bucket = by_first_byte_[static_cast<unsigned char>(pattern[0])];
  patterns_.emplace_back(std::move(pattern), id);
  bucket.push_back(patterns_.size() - 1);
  std::stable_sort(bucket.begin(), bucket.end(),
                   [&](std::size_t a, std::size_t b) { return patterns_[a].first.size() > patterns_[b].first.size(); });
}

std::optional<std::pair<std::size_t, int32_t>> AddedVocabulary::Matcher::longest_at(std::string_view text,
                                                                                     std::size_t pos) const {
  for (const std::size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const auto& [pattern, id] = patterns_[index];
    if (text.substr(pos).starts_with(pattern)) return std::pair{pattern.size(), id};
  }
  return std::nullopt;
}

Expected<AddedVocabulary> AddedVocabulary::parse(const JsonNode& node, const BpeModel& model,
                                                 const Normalizer* normalizer) {
  AddedVocabulary vocabulary;
  if (node.is_null()) return vocabulary;
  if (!node.value().is_array()) return node.error("must be an array");
  auto next_id = static_cast<int32_t>(model.vocab_size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto token = parse_token(node.at(i));
    if (!token) return token.error();
    if (token->content.empty()) continue;
    std::optional<int32_t> id = vocabulary.token_to_id(token->content);
    if (id && same_flags(vocabulary.tokens_by_id_.at(*id), *token)) continue;
    if (!id) id = model.token_to_id(token->content);
    if (!id) id = next_id++;
    if (token->normalized && normalizer != nullptr) {
      std::string normalized = normalizer->normalize(token->content);
      if (normalized != token->content) vocabulary.normalized_contents_[*id] = std::move(normalized);
    }
    vocabulary.ids_by_content_[token->content] = *id;
    if (token->special) vocabulary.special_.insert(token->content);
    vocabulary.tokens_by_id_[*id] = std::move(*token);
  }
  for (const auto& [id, token] : vocabulary.tokens_by_id_) {
    if (!token.normalized) {
      vocabulary.raw_matcher_.add(token.content, id);
    } else {
      const auto normalized = vocabulary.normalized_contents_.find(id);
      const std::string& pattern =
          normalized == vocabulary.normalized_contents_.end() ? token.content : normalized->second;
      if (!pattern.empty()) vocabulary.normalized_matcher_.add(pattern, id);
    }
  }
  return vocabulary;
}

std::optional<int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  const auto found = ids_by_content_.find(content);
  if (found == ids_by_content_.end()) return std::nullopt;
  return found->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  if (const auto normalized = normalized_contents_.find(id); normalized != normalized_contents_.end())
    return &normalized->second;
  const auto found = tokens_by_id_.find(id);
  return found == tokens_by_id_.end() ? nullptr : &found->second.content;
}

std::vector<AddedVocabulary::Match> AddedVocabulary::find_matches(std::string_view sentence,
                                                                  const Matcher& matcher) const {
  std::vector<Match> matches;
  std::size_t consumed = 0;  // the end of the last token kept
  std::size_t pos = 0;       // where the search goes on: matches never overlap, even those dropped below
  while (pos < sentence.size()) {
    const auto found = matcher.longest_at(sentence, pos);
    if (!found) {
      pos += utf8_sequence_length(static_cast<unsigned char>(sentence[pos]));
      continue;
    }
    std::size_t begin = pos;
    std::size_t end = pos + found->first;
    pos = end;
    const AddedToken& token = tokens_by_id_.at(found->second);
    if (token.single_word) {
      const bool word_before = begin > 0 && [&] {
        std::size_t at = start_of_code_point_before(sentence, begin);
        return is_word_char(next_code_point(sentence, at));
      }();
      const bool word_after = end < sentence.size() && [&] {
        std::size_t at = end;
        return is_word_char(next_code_point(sentence, at));
      }();
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (begin > consumed) {
        std::size_t at = start_of_code_point_before(sentence, begin);
        const std::size_t previous = at;
        if (!is_whitespace(next_code_point(sentence, at))) break;
        begin = previous;
      }
    }
    if (token.rstrip) {
      while (end < sentence.size()) {
        std::size_t at = end;
        if (!is_whitespace(next_code_point(sentence, at))) break;
        end = at;
      }
    }
    if (consumed < begin) matches.push_back({consumed, begin, std::nullopt});
    matches.push_back({begin, end, found->second});
    consumed = end;
  }
  if (consumed < sentence.size()) matches.push_back({consumed, sentence.size(), std::nullopt});
  return matches;
}

std::vector<TextSegment> AddedVocabulary::split(std::string_view text, const Normalizer* normalizer) const {
  std::vector<TextSegment> segments;
  const auto normalize_and_split = [&](std::string_view raw, bool at_text_start) {
    std::string normalized = normalizer != nullptr ? normalizer->normalize(std::string(raw)) : std::string(raw);
    if (normalized_matcher_.empty()) {
      if (!normalized.empty()) segments.push_back({std::nullopt, std::move(normalized), at_text_start});
      return;
    }
    for (const Match& match : find_matches(normalized, normalized_matcher_)) {
      if (match.token_id) {
        segments.push_back({match.token_id, {}, false});
      } else {
        segments.push_back({std::nullopt, normalized.substr(match.begin, match.end - match.begin),
                            at_text_start && match.begin == 0});
      }
    }
  };
  if (raw_matcher_.empty()) {
    if (!text.empty()) normalize_and_split(text, true);
    return segments;
  }
  for (const Match& match : find_matches(text, raw_matcher_)) {
    if (match.token_id) {
      segments.push_back({match.token_id, {}, false});
    } else {
      normalize_and_split(text.substr(match.begin, match.end - match.begin), match.begin == 0);
    }
  }
  return segments;
}

}  // namespace llmc::data
