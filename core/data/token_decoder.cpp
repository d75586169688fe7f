// core/data/token_decoder.cpp
#include "data/token_decoder.h"

#include <fmt/format.h>

#include "data/byte_level.h"
#include "data/text_pattern.h"
#include "data/utf8.h"

namespace llmc::data {
namespace {

constexpr std::string_view kSupported =
    "Sequence, ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder";

class SequenceDecoder final : public TokenDecoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<const TokenDecoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<const TokenDecoder>> steps_;
};

// Byte-level characters back to bytes; a token with any other character stays as it is. All of it becomes one
// string, with bytes that are not UTF-8 replaced by U+FFFD.
class ByteLevelDecoder final : public TokenDecoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    std::string token_bytes;
    for (const std::string& token : tokens) {
      token_bytes.clear();
      bool all_byte_level = true;
      for (std::size_t pos = 0; pos < token.size() && all_byte_level;) {
        const auto byte = byte_of_byte_level_char(next_code_point(token, pos));
        if (byte) token_bytes += static_cast<char>(*byte);
        all_byte_level = byte.has_value();
      }
      bytes += all_byte_level ? token_bytes : token;
    }
    return {utf8_lossy(bytes)};
  }
};

// The replacement ("▁") back to spaces; in the first token it is dropped (it was prepended), unless the scheme
// is "never".
class MetaspaceDecoder final : public TokenDecoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepended)
      : replacement_(std::move(replacement)), prepended_(prepended) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replace_ranges(tokens[i], find_all_literal(tokens[i], replacement_), i == 0 && prepended_ ? "" : " ");
    return tokens;
  }

 private:
  std::string replacement_;
  bool prepended_;
};

// Runs of <0xAB> tokens back to the text their bytes spell, or one U+FFFD per byte when they are not UTF-8.
class ByteFallbackDecoder final : public TokenDecoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    const auto flush = [&] {
      if (bytes.empty()) return;
      if (is_valid_utf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (std::size_t i = 0; i < bytes.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
    };
    for (std::string& token : tokens) {
      if (const auto byte = byte_token_value(token)) {
        bytes += static_cast<char>(*byte);
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    return out;
  }

 private:
  static std::optional<unsigned char> byte_token_value(std::string_view token) {
    if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
    const auto hex = [](char digit) -> int {
      if (digit >= '0' && digit <= '9') return digit - '0';
      if (digit >= 'a' && digit <= 'f') return digit - 'a' + 10;
      if (digit >= 'A' && digit <= 'F') return digit - 'A' + 10;
      return -1;
    };
    const int high = hex(token[3]);
    const int low = hex(token[4]);
    if (high < 0 || low < 0) return std::nullopt;
    return static_cast<unsigned char>(high * 16 + low);
  }
};

class FuseDecoder final : public TokenDecoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string fused;
    for (const std::string& token : tokens) fused += token;
    return {fused};
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from every token.
class StripDecoder final : public TokenDecoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) {
      std::vector<std::size_t> starts;  // the byte offset of every character, then the end
      for (std::size_t pos = 0; pos < token.size(); next_code_point(token, pos)) starts.push_back(pos);
      starts.push_back(token.size());
      const std::size_t count = starts.size() - 1;
      const auto char_at = [&](std::size_t i) {
        std::size_t pos = starts[i];
        return next_code_point(token, pos);
      };
      std::size_t first = 0;
      while (first < std::min(start_, count) && char_at(first) == content_) ++first;
      std::size_t last = count;
      while (count - last < stop_ && last > first && char_at(last - 1) == content_) --last;
      token = token.substr(starts[first], starts[last] - starts[first]);
    }
    return tokens;
  }

 private:
  char32_t content_;
  std::size_t start_;
  std::size_t stop_;
};

class ReplaceDecoder final : public TokenDecoder {
 public:
  ReplaceDecoder(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) token = pattern_.replace_all(token, content_);
    return tokens;
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

// The end-of-word suffix becomes a space, except in the last token.
class BpeSuffixDecoder final : public TokenDecoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replace_ranges(tokens[i], find_all_literal(tokens[i], suffix_), i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

Expected<std::unique_ptr<const TokenDecoder>> parse_metaspace(const JsonNode& node) {
  auto replacement = node["replacement"].as_char();
  if (!replacement) return replacement.error();
  std::string scheme = "always";
  if (const JsonNode scheme_node = node["prepend_scheme"]; !scheme_node.is_null()) {
    auto name = scheme_node.as_string();
    if (!name) return name.error();
    if (*name != "always" && *name != "first" && *name != "never")
      return scheme_node.error(fmt::format("\"{}\" is not one of always, first, never", *name));
    scheme = *name;
  }
  auto add_prefix_space = node.boolean("add_prefix_space", true);  // files older than prepend_scheme
  if (!add_prefix_space) return add_prefix_space.error();
  const bool prepended = scheme != "never" && *add_prefix_space;
  return std::unique_ptr<const TokenDecoder>(std::make_unique<MetaspaceDecoder>(std::move(*replacement), prepended));
}

Expected<std::unique_ptr<const TokenDecoder>> parse_strip(const JsonNode& node) {
  auto content = node["content"].as_char();
  if (!content) return content.error();
  std::size_t counts[2];
  const char* keys[2] = {"start", "stop"};
  for (int i = 0; i < 2; ++i) {
    auto count = node[keys[i]].as_int();
    if (!count) return count.error();
    if (*count < 0) return node[keys[i]].error("must not be negative");
    counts[i] = static_cast<std::size_t>(*count);
  }
  std::size_t pos = 0;
  return std::unique_ptr<const TokenDecoder>(
      std::make_unique<StripDecoder>(next_code_point(*content, pos), counts[0], counts[1]));
}

}  // namespace

Expected<std::unique_ptr<const TokenDecoder>> TokenDecoder::parse(const JsonNode& node) {
  auto type = node.type();
  if (!type) return type.error();
  if (*type == "Sequence") {
    const JsonNode list = node["decoders"];
    if (!list.value().is_array()) return list.error("must be an array");
    std::vector<std::unique_ptr<const TokenDecoder>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse(list.at(i));
      if (!step) return step.error();
      steps.push_back(std::move(*step));
    }
    return std::unique_ptr<const TokenDecoder>(std::make_unique<SequenceDecoder>(std::move(steps)));
  }
  if (*type == "ByteLevel") return std::unique_ptr<const TokenDecoder>(std::make_unique<ByteLevelDecoder>());
  if (*type == "Metaspace") return parse_metaspace(node);
  if (*type == "ByteFallback") return std::unique_ptr<const TokenDecoder>(std::make_unique<ByteFallbackDecoder>());
  if (*type == "Fuse") return std::unique_ptr<const TokenDecoder>(std::make_unique<FuseDecoder>());
  if (*type == "Strip") return parse_strip(node);
  if (*type == "Replace") {
    auto pattern = TextPattern::parse(node["pattern"]);
    if (!pattern) return pattern.error();
    auto content = node.string("content");
    if (!content) return content.error();
    return std::unique_ptr<const TokenDecoder>(
        std::make_unique<ReplaceDecoder>(std::move(*pattern), std::move(*content)));
  }
  if (*type == "BPEDecoder") {
    std::string suffix = "</w>";
    if (const JsonNode suffix_node = node["suffix"]; !suffix_node.is_null()) {
      auto value = suffix_node.as_string();
      if (!value) return value.error();
      suffix = std::move(*value);
    }
    if (suffix.empty()) return node["suffix"].error("must not be empty");
    return std::unique_ptr<const TokenDecoder>(std::make_unique<BpeSuffixDecoder>(std::move(suffix)));
  }
  return node.unsupported_type(kSupported);
}

}  // namespace llmc::data
