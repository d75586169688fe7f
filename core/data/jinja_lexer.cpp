// core/data/jinja_lexer.cpp
#include "data/jinja_lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "data/jinja_text.h"

namespace llmc::data::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Jinja2 reads newlines as \n, \r\n or \r and writes them as \n.
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  return out;
}

enum class TagKind { kVariable, kBlock, kComment };

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& options) : source_(std::move(source)), options_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < source_.size(); ++i) {
      if (source_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Expected<std::vector<Token>> run() {
    bool line_starting = true;  // the previous tag's match ended with a newline (or nothing came before)
    while (pos_ < source_.size()) {
      const size_t tag = find_tag_start(pos_);
      std::string text = source_.substr(pos_, tag - pos_);
      if (tag == source_.size()) {
        emit_text(std::move(text), pos_);
        break;
      }
      const TagKind kind = source_[tag + 1] == '{'   ? TagKind::kVariable
                           : source_[tag + 1] == '%' ? TagKind::kBlock
                                                     : TagKind::kComment;
      const char sign = tag + 2 < source_.size() ? source_[tag + 2] : '\0';
      if (sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (sign != '+' && options_.lstrip_blocks && kind != TagKind::kVariable) {
        const size_t line_begin = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        const bool only_blanks =
            line_begin < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(line_begin), text.end(), is_space);
        if ((line_begin > 0 || line_starting) && only_blanks) text.resize(line_begin);
      }
      emit_text(std::move(text), pos_);
      pos_ = tag + 2 + (sign == '-' || sign == '+' ? 1 : 0);
      if (kind == TagKind::kComment) {
        LLMC_TRY(skip_comment(tag));
      } else {
        tokens_.push_back({kind == TagKind::kVariable ? TokenKind::kVariableBegin : TokenKind::kBlockBegin,
                           kind == TagKind::kVariable ? "{{" : "{%", position(tag)});
        LLMC_TRY(lex_tag(kind, tag));
      }
      line_starting = pos_ > 0 && source_[pos_ - 1] == '\n';
    }
    tokens_.push_back({TokenKind::kEnd, "", position(source_.size())});
    return std::move(tokens_);
  }

 private:
  SourcePos position(size_t offset) const {
    const auto line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin();
    return {static_cast<int>(line), static_cast<int>(offset - line_starts_[static_cast<size_t>(line - 1)]) + 1};
  }

  Error error(size_t offset, std::string_view what) const {
    const SourcePos at = position(offset);
    return Error{fmt::format("{}:{}: {}", at.line, at.column, what)};
  }

  size_t find_tag_start(size_t from) const {
    size_t at = from;
    while ((at = source_.find('{', at)) != std::string::npos && at + 1 < source_.size()) {
      const char next = source_[at + 1];
      if (next == '{' || next == '%' || next == '#') return at;
      ++at;
    }
    return source_.size();
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::move(text), position(offset)});
  }

  void skip_whitespace_after_tag() {
    while (pos_ < source_.size() && is_space(source_[pos_])) ++pos_;
  }

  void skip_newline_after_block() {
    if (options_.trim_blocks && pos_ < source_.size() && source_[pos_] == '\n') ++pos_;
  }

  Status skip_comment(size_t tag) {
    const size_t end = source_.find("#}", pos_);
    if (end == std::string::npos) return error(tag, "missing end of comment tag");
    const char sign = end > pos_ ? source_[end - 1] : '\0';
    pos_ = end + 2;
    if (sign == '-') {
      skip_whitespace_after_tag();
    } else if (sign != '+') {
      skip_newline_after_block();
    }
    return {};
  }

  // Consumes the tag's end at pos_ when it is there (and balanced), with its whitespace control.
  bool lex_tag_end(TagKind kind) {
    const std::string_view rest = std::string_view(source_).substr(pos_);
    const std::string_view close = kind == TagKind::kVariable ? "}}" : "%}";
    const auto end_token = kind == TagKind::kVariable ? TokenKind::kVariableEnd : TokenKind::kBlockEnd;
    if (rest.size() >= 3 && rest[0] == '-' && rest.substr(1, 2) == close) {
      tokens_.push_back({end_token, std::string(close), position(pos_)});
      pos_ += 3;
      skip_whitespace_after_tag();
      return true;
    }
    if (kind == TagKind::kBlock && rest.size() >= 3 && rest[0] == '+' && rest.substr(1, 2) == close) {
      tokens_.push_back({end_token, std::string(close), position(pos_)});
      pos_ += 3;
      return true;
    }
    if (rest.substr(0, 2) == close) {
      tokens_.push_back({end_token, std::string(close), position(pos_)});
      pos_ += 2;
      if (kind == TagKind::kBlock) skip_newline_after_block();
      return true;
    }
    return false;
  }

  Status lex_tag(TagKind kind, size_t tag) {
    std::vector<char> open_brackets;
    while (true) {
      while (pos_ < source_.size() && is_space(source_[pos_])) ++pos_;
      if (pos_ >= source_.size()) {
        return error(tag, kind == TagKind::kVariable ? "unclosed '{{': missing '}}'" : "unclosed '{%': missing '%}'");
      }
      if (open_brackets.empty() && lex_tag_end(kind)) return {};
      const size_t start = pos_;
      const char c = source_[pos_];
      if (is_name_start(c)) {
        while (pos_ < source_.size() && is_name_char(source_[pos_])) ++pos_;
        tokens_.push_back({TokenKind::kName, source_.substr(start, pos_ - start), position(start)});
      } else if (is_digit(c)) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        LLMC_TRY(lex_string());
      } else {
        LLMC_TRY(lex_operator(open_brackets));
      }
    }
  }

  void lex_number() {
    const size_t start = pos_;
    auto digits = [this] {
      while (pos_ < source_.size() && (is_digit(source_[pos_]) || source_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < source_.size() && source_[pos_] == '.' && is_digit(source_[pos_ + 1])) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (pos_ < source_.size() && (source_[pos_] == 'e' || source_[pos_] == 'E')) {
      size_t exponent = pos_ + 1;
      if (exponent < source_.size() && (source_[exponent] == '+' || source_[exponent] == '-')) ++exponent;
      if (exponent < source_.size() && is_digit(source_[exponent])) {
        pos_ = exponent;
        digits();
        is_float = true;
      }
    }
    std::string text = source_.substr(start, pos_ - start);
    std::erase(text, '_');
    tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, std::move(text), position(start)});
  }

  // Python's unicode-escape decoding of the literal's body; unknown escapes stay as written.
  Status lex_string() {
    const size_t start = pos_;
    const char quote = source_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= source_.size()) return error(start, "unterminated string literal");
      const char c = source_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= source_.size()) return error(start, "unterminated string literal");
      const char escaped = source_[pos_++];
      auto hex = [&](int count) -> Expected<char32_t> {
        if (pos_ + static_cast<size_t>(count) > source_.size()) return error(start, "truncated \\x, \\u or \\U escape");
        char32_t code = 0;
        for (int k = 0; k < count; ++k) {
          const char h = source_[pos_++];
          const int digit = is_digit(h)              ? h - '0'
                            : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                            : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                     : -1;
          if (digit < 0) return error(start, "invalid \\x, \\u or \\U escape");
          code = code * 16 + static_cast<char32_t>(digit);
        }
        return code;
      };
      switch (escaped) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // a line continuation
        case 'x':
        case 'u':
        case 'U': {
          auto code = hex(escaped == 'x' ? 2 : escaped == 'u' ? 4 : 8);
          if (!code) return code.error();
          value += encode_utf8(std::u32string(1, *code));
          break;
        }
        default:
          if (escaped >= '0' && escaped <= '7') {
            char32_t code = static_cast<char32_t>(escaped - '0');
            for (int k = 0; k < 2 && pos_ < source_.size() && source_[pos_] >= '0' && source_[pos_] <= '7'; ++k) {
              code = code * 8 + static_cast<char32_t>(source_[pos_++] - '0');
            }
            value += encode_utf8(std::u32string(1, code));
          } else {
            value += '\\';
            value += escaped;
          }
      }
    }
    tokens_.push_back({TokenKind::kString, std::move(value), position(start)});
    return {};
  }

  Status lex_operator(std::vector<char>& open_brackets) {
    static constexpr std::array<std::string_view, 26> kOperators = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/",
                                                                    "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                                                    "<",  ">",  "=",  ".",  ":",  "|",  ",", ";"};
    const std::string_view rest = std::string_view(source_).substr(pos_);
    for (std::string_view op : kOperators) {
      if (rest.substr(0, op.size()) != op) continue;
      if (op == "(" || op == "[" || op == "{") {
        open_brackets.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      } else if (op == ")" || op == "]" || op == "}") {
        if (open_brackets.empty()) return error(pos_, fmt::format("unexpected '{}'", op));
        if (open_brackets.back() != op[0]) {
          return error(pos_, fmt::format("unexpected '{}', expected '{}'", op, open_brackets.back()));
        }
        open_brackets.pop_back();
      }
      tokens_.push_back({TokenKind::kOperator, std::string(op), position(pos_)});
      pos_ += op.size();
      return {};
    }
    return error(pos_, fmt::format("unexpected character '{}'", source_[pos_]));
  }

  std::string source_;
  LexerOptions options_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

Expected<std::vector<Token>> tokenize(std::string_view source, const LexerOptions& options) {
  std::string text = normalize_newlines(source);
  if (!options.keep_trailing_newline && !text.empty() && text.back() == '\n') text.pop_back();
  return Lexer(std::move(text), options).run();
}

}  // namespace llmc::data::jinja
