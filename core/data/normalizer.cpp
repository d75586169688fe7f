// core/data/normalizer.cpp
#include "data/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <vector>

#include <fmt/format.h>

#include "data/byte_level.h"
#include "data/text_pattern.h"
#include "data/utf8.h"

namespace llmc::data {
namespace {

constexpr std::string_view kSupported = "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, ByteLevel";

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<const Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string text) const override {
    for (const auto& step : steps_) text = step->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<const Normalizer>> steps_;
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(const icu::Normalizer2& form) : form_(form) {}
  std::string normalize(std::string text) const override {
    UErrorCode status = U_ZERO_ERROR;
    if (form_.isNormalizedUTF8(text, status) || U_FAILURE(status)) return text;
    std::string out;
    icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
    form_.normalizeUTF8(0, text, sink, nullptr, status);
    return U_SUCCESS(status) ? out : text;
  }

 private:
  const icu::Normalizer2& form_;
};

// Each character's full lowercase mapping, without context (Rust's char::to_lowercase): no final sigma.
class LowercaseNormalizer final : public Normalizer {
 public:
  std::string normalize(std::string text) const override {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
      const char32_t character = next_code_point(text, pos);
      if (character == 0x130) {  // İ: the one unconditional lowercase mapping to two characters
        out += "i\xCC\x87";
      } else {
        append_utf8(out, static_cast<char32_t>(u_tolower(static_cast<UChar32>(character))));
      }
    }
    return out;
  }
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string text) const override { return pattern_.replace_all(text, content_); }

 private:
  TextPattern pattern_;
  std::string content_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string text) const override { return text.empty() ? text : prefix_ + text; }

 private:
  std::string prefix_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string text) const override {
    std::size_t begin = 0;
    std::size_t end = text.size();
    while (left_ && begin < end) {
      std::size_t next = begin;
      if (!u_isUWhiteSpace(static_cast<UChar32>(next_code_point(text, next)))) break;
      begin = next;
    }
    while (right_ && end > begin) {
      std::size_t last = start_of_code_point_before(text, end);
      const std::size_t last_begin = last;
      if (!u_isUWhiteSpace(static_cast<UChar32>(next_code_point(text, last)))) break;
      end = last_begin;
    }
    return text.substr(begin, end - begin);
  }

 private:
  bool left_;
  bool right_;
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  std::string normalize(std::string text) const override { return to_byte_level(text); }
};

Expected<const icu::Normalizer2*> unicode_form(const JsonNode& node, std::string_view type) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* form = nullptr;
  if (type == "NFC") form = icu::Normalizer2::getNFCInstance(status);
  if (type == "NFD") form = icu::Normalizer2::getNFDInstance(status);
  if (type == "NFKC") form = icu::Normalizer2::getNFKCInstance(status);
  if (type == "NFKD") form = icu::Normalizer2::getNFKDInstance(status);
  if (U_FAILURE(status) || form == nullptr) return node.error(fmt::format("ICU has no {} data", type));
  return form;
}

}  // namespace

Expected<std::unique_ptr<const Normalizer>> Normalizer::parse(const JsonNode& node) {
  auto type = node.type();
  if (!type) return type.error();
  if (*type == "Sequence") {
    const JsonNode list = node["normalizers"];
    if (!list.value().is_array()) return list.error("must be an array");
    std::vector<std::unique_ptr<const Normalizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse(list.at(i));
      if (!step) return step.error();
      steps.push_back(std::move(*step));
    }
    return std::unique_ptr<const Normalizer>(std::make_unique<SequenceNormalizer>(std::move(steps)));
  }
  if (*type == "NFC" || *type == "NFD" || *type == "NFKC" || *type == "NFKD") {
    auto form = unicode_form(node, *type);
    if (!form) return form.error();
    return std::unique_ptr<const Normalizer>(std::make_unique<UnicodeNormalizer>(**form));
  }
  if (*type == "Lowercase") return std::unique_ptr<const Normalizer>(std::make_unique<LowercaseNormalizer>());
  if (*type == "Replace") {
    auto pattern = TextPattern::parse(node["pattern"]);
    if (!pattern) return pattern.error();
    auto content = node.string("content");
    if (!content) return content.error();
    return std::unique_ptr<const Normalizer>(
        std::make_unique<ReplaceNormalizer>(std::move(*pattern), std::move(*content)));
  }
  if (*type == "Prepend") {
    auto prefix = node.string("prepend");
    if (!prefix) return prefix.error();
    return std::unique_ptr<const Normalizer>(std::make_unique<PrependNormalizer>(std::move(*prefix)));
  }
  if (*type == "Strip") {
    auto left = node.boolean("strip_left", false);
    if (!left) return left.error();
    auto right = node.boolean("strip_right", false);
    if (!right) return right.error();
    return std::unique_ptr<const Normalizer>(std::make_unique<StripNormalizer>(*left, *right));
  }
  if (*type == "ByteLevel") return std::unique_ptr<const Normalizer>(std::make_unique<ByteLevelNormalizer>());
  return node.unsupported_type(kSupported);
}

}  // namespace llmc::data
