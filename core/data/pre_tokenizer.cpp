// core/data/pre_tokenizer.cpp
#include "data/pre_tokenizer.h"

#include <unicode/uchar.h>

#include <fmt/format.h>

#include "data/byte_level.h"
#include "data/text_pattern.h"
#include "data/unicode_regex.h"
#include "data/utf8.h"

namespace llmc::data {
namespace {

constexpr std::string_view kSupported = "Sequence, ByteLevel, Split, Digits, Metaspace";

// What becomes of the matches when a piece is split (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Segment {
  std::size_t begin;
  std::size_t end;
  bool flag;  // a match, before the behavior is applied; to be removed, after
};

// The matches and the text between them, covering [0, size).
std::vector<Segment> segments_of(std::size_t size, const std::vector<ByteRange>& matches, bool invert) {
  std::vector<Segment> segments;
  std::size_t previous = 0;
  for (const ByteRange& match : matches) {
    if (previous != match.begin) segments.push_back({previous, match.begin, invert});
    segments.push_back({match.begin, match.end, !invert});
    previous = match.end;
  }
  if (previous != size) segments.push_back({previous, size, invert});
  return segments;
}

std::vector<Segment> apply_behavior(std::vector<Segment> matches, SplitBehavior behavior) {
  std::vector<Segment> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      return matches;
    case SplitBehavior::kIsolated:
      for (Segment& segment : matches) segment.flag = false;
      return matches;
    case SplitBehavior::kContiguous:
      for (const Segment& segment : matches) {
        if (segment.flag == previous_match && !out.empty()) {
          out.back().end = segment.end;
        } else {
          out.push_back({segment.begin, segment.end, false});
        }
        previous_match = segment.flag;
      }
      return out;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& segment : matches) {
        if (segment.flag && !previous_match && !out.empty()) {
          out.back().end = segment.end;
        } else {
          out.push_back({segment.begin, segment.end, false});
        }
        previous_match = segment.flag;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->flag && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back({it->begin, it->end, false});
        }
        previous_match = it->flag;
      }
      return {out.rbegin(), out.rend()};
  }
  return out;
}

// Appends the pieces of `piece` cut at `matches`, as `behavior` keeps them, dropping empty ones.
void split_piece(const PreToken& piece, const std::vector<ByteRange>& matches, SplitBehavior behavior, bool invert,
                 std::vector<PreToken>& out) {
  for (const Segment& segment : apply_behavior(segments_of(piece.text.size(), matches, invert), behavior)) {
    if (segment.flag || segment.begin == segment.end) continue;
    out.push_back({piece.text.substr(segment.begin, segment.end - segment.begin),
                   piece.at_text_start && segment.begin == 0});
  }
}

// Every character of `text` for which `predicate` holds, as a match.
template <class Predicate>
std::vector<ByteRange> character_matches(std::string_view text, Predicate predicate) {
  std::vector<ByteRange> matches;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t begin = pos;
    if (predicate(next_code_point(text, pos))) matches.push_back({begin, pos});
  }
  return matches;
}

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<const PreTokenizer>> steps) : steps_(std::move(steps)) {}
  std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const override {
    for (const auto& step : steps_) pieces = step->pre_tokenize(std::move(pieces));
    return pieces;
  }

 private:
  std::vector<std::unique_ptr<const PreTokenizer>> steps_;
};

// GPT-2's split into words, then every byte to its byte-level character.
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

  std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> split;
    split.reserve(pieces.size());
    for (PreToken& piece : pieces) {
      if (add_prefix_space_ && !piece.text.starts_with(' ')) piece.text.insert(0, 1, ' ');
      if (use_regex_) {
        split_piece(piece, gpt2_words().find_all(piece.text), SplitBehavior::kIsolated, false, split);
      } else {
        split.push_back(std::move(piece));
      }
    }
    for (PreToken& piece : split) piece.text = to_byte_level(piece.text);
    return split;
  }

 private:
  static const UnicodeRegex& gpt2_words() {
    static const UnicodeRegex regex =
        *UnicodeRegex::compile(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    return regex;
  }

  bool add_prefix_space_;
  bool use_regex_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> split;
    split.reserve(pieces.size());
    for (const PreToken& piece : pieces) split_piece(piece, pattern_.find_all(piece.text), behavior_, invert_, split);
    return split;
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits) : individual_digits_(individual_digits) {}

  std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const override {
    // Rust's char::is_numeric: general categories Nd, Nl and No.
    const auto is_numeric = [](char32_t character) {
      const auto category = u_charType(static_cast<UChar32>(character));
      return category == U_DECIMAL_DIGIT_NUMBER || category == U_LETTER_NUMBER || category == U_OTHER_NUMBER;
    };
    const SplitBehavior behavior = individual_digits_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
    std::vector<PreToken> split;
    split.reserve(pieces.size());
    for (const PreToken& piece : pieces)
      split_piece(piece, character_matches(piece.text, is_numeric), behavior, false, split);
    return split;
  }

 private:
  bool individual_digits_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// SentencePiece's spaces: every space becomes the replacement ("▁"), one is prepended, words begin at each.
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme prepend_scheme, bool split)
      : replacement_(std::move(replacement)), prepend_scheme_(prepend_scheme), split_(split) {}

  std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> split;
    split.reserve(pieces.size());
    const char32_t replacement_char = [&] {
      std::size_t pos = 0;
      return next_code_point(replacement_, pos);
    }();
    for (PreToken& piece : pieces) {
      piece.text = replace_ranges(piece.text, find_all_literal(piece.text, " "), replacement_);
      const bool prepend = prepend_scheme_ == PrependScheme::kAlways ||
                           (prepend_scheme_ == PrependScheme::kFirst && piece.at_text_start);
      if (prepend && !piece.text.starts_with(replacement_)) piece.text.insert(0, replacement_);
      if (split_) {
        const auto matches =
            character_matches(piece.text, [&](char32_t character) { return character == replacement_char; });
        split_piece(piece, matches, SplitBehavior::kMergedWithNext, false, split);
      } else if (!piece.text.empty()) {
        split.push_back(std::move(piece));
      }
    }
    return split;
  }

 private:
  std::string replacement_;
  PrependScheme prepend_scheme_;
  bool split_;
};

Expected<SplitBehavior> parse_behavior(const JsonNode& node) {
  auto name = node.as_string();
  if (!name) return name.error();
  if (*name == "Removed") return SplitBehavior::kRemoved;
  if (*name == "Isolated") return SplitBehavior::kIsolated;
  if (*name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (*name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (*name == "Contiguous") return SplitBehavior::kContiguous;
  return node.error(fmt::format("\"{}\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                                "Contiguous", *name));
}

Expected<std::unique_ptr<const PreTokenizer>> parse_metaspace(const JsonNode& node) {
  auto replacement = node["replacement"].as_char();
  if (!replacement) return replacement.error();
  auto split = node.boolean("split", true);
  if (!split) return split.error();
  PrependScheme scheme = PrependScheme::kAlways;
  const JsonNode scheme_node = node["prepend_scheme"];
  if (!scheme_node.is_null()) {
    auto name = scheme_node.as_string();
    if (!name) return name.error();
    if (*name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (*name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (*name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return scheme_node.error(fmt::format("\"{}\" is not one of always, first, never", *name));
    }
  }
  // Files older than prepend_scheme say add_prefix_space instead.
  auto add_prefix_space = node.boolean("add_prefix_space", true);
  if (!add_prefix_space) return add_prefix_space.error();
  if (!*add_prefix_space) {
    if (!scheme_node.is_null() && scheme != PrependScheme::kNever)
      return node["add_prefix_space"].error("is false but prepend_scheme is not \"never\"");
    scheme = PrependScheme::kNever;
  }
  return std::unique_ptr<const PreTokenizer>(
      std::make_unique<MetaspacePreTokenizer>(std::move(*replacement), scheme, *split));
}

}  // namespace

Expected<std::unique_ptr<const PreTokenizer>> PreTokenizer::parse(const JsonNode& node) {
  auto type = node.type();
  if (!type) return type.error();
  if (*type == "Sequence") {
    const JsonNode list = node["pretokenizers"];
    if (!list.value().is_array()) return list.error("must be an array");
    std::vector<std::unique_ptr<const PreTokenizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse(list.at(i));
      if (!step) return step.error();
      steps.push_back(std::move(*step));
    }
    return std::unique_ptr<const PreTokenizer>(std::make_unique<SequencePreTokenizer>(std::move(steps)));
  }
  if (*type == "ByteLevel") {
    auto add_prefix_space = node.boolean("add_prefix_space", true);
    if (!add_prefix_space) return add_prefix_space.error();
    auto use_regex = node.boolean("use_regex", true);
    if (!use_regex) return use_regex.error();
    return std::unique_ptr<const PreTokenizer>(std::make_unique<ByteLevelPreTokenizer>(*add_prefix_space, *use_regex));
  }
  if (*type == "Split") {
    auto pattern = TextPattern::parse(node["pattern"]);
    if (!pattern) return pattern.error();
    auto behavior = parse_behavior(node["behavior"]);
    if (!behavior) return behavior.error();
    auto invert = node.boolean("invert", false);
    if (!invert) return invert.error();
    return std::unique_ptr<const PreTokenizer>(
        std::make_unique<SplitPreTokenizer>(std::move(*pattern), *behavior, *invert));
  }
  if (*type == "Digits") {
    auto individual = node.boolean("individual_digits", false);
    if (!individual) return individual.error();
    return std::unique_ptr<const PreTokenizer>(std::make_unique<DigitsPreTokenizer>(*individual));
  }
  if (*type == "Metaspace") return parse_metaspace(node);
  return node.unsupported_type(kSupported);
}

}  // namespace llmc::data
