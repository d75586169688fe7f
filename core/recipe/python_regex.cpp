// core/recipe/python_regex.cpp - a translator from Python `re` syntax to ECMAScript, for the patterns
// module targets use.
#include "recipe/python_regex.h"

#include <fmt/format.h>

#include <cctype>

namespace llmc::recipe {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A Python {m,n} quantifier starting at `open`; returns its ECMAScript text and length, or an empty
// text when Python reads the brace literally.
std::pair<std::string, size_t> translate_braces(std::string_view pattern, size_t open) {
  auto digits_end = [&](size_t from) {
    while (from < pattern.size() && is_digit(pattern[from])) ++from;
    return from;
  };
  const size_t low_end = digits_end(open + 1);
  const std::string_view low = pattern.substr(open + 1, low_end - open - 1);
  const bool comma = low_end < pattern.size() && pattern[low_end] == ',';
  const size_t high_end = comma ? digits_end(low_end + 1) : low_end;
  const std::string_view high = comma ? pattern.substr(low_end + 1, high_end - low_end - 1) : std::string_view();
  if (high_end >= pattern.size() || pattern[high_end] != '}' || (low.empty() && !comma)) return {"", 0};
  const std::string_view min = low.empty() ? std::string_view("0") : low;
  return {comma ? fmt::format("{{{},{}}}", min, high) : fmt::format("{{{}}}", min), high_end + 1 - open};
}

Error unsupported(std::string_view what) {
  return Error{fmt::format("{} not supported (targets run on ECMAScript regular expressions)", what)};
}

}  // namespace

Expected<std::string> python_regex_to_ecmascript(std::string_view pattern) {
  constexpr std::string_view kLetterEscapes = "bBdDfnrsStvwWxu";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const char next = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return Error{"the pattern ends with a lone backslash"};
      ++i;
      if (!in_class && next == 'A') { out += '^'; continue; }
      if (!in_class && next == 'Z') { out += '$'; continue; }
      if (std::isalpha(static_cast<unsigned char>(next)) && kLetterEscapes.find(next) == std::string_view::npos) {
        return unsupported(fmt::format("the escape '\\{}' is", next));
      }
      out += c;
      out += next;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (next == '^') out += pattern[++i];
      // Python reads a ']' right after '[' or '[^' literally; ECMAScript would close an empty class.
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') {
        out += "\\]";
        ++i;
      }
      continue;
    }
    if (c == '(' && next == '?') {
      const char kind = i + 2 < pattern.size() ? pattern[i + 2] : '\0';
      if (kind == ':' || kind == '=' || kind == '!') {
        out += pattern.substr(i, 3);
        i += 2;
        continue;
      }
      if (kind == 'P' && i + 3 < pattern.size() && pattern[i + 3] == '<') {
        const size_t close = pattern.find('>', i + 4);
        if (close == std::string_view::npos) return Error{"a (?P<name> group is missing its '>'"};
        out += '(';  // numbering is unchanged: a named group is also a numbered one
        i = close;
        continue;
      }
      if (kind == 'P') return unsupported("a named backreference (?P=name) is");
      if (kind == '<') return unsupported("lookbehind (?<= / (?<! is");
      if (kind == '#') return unsupported("a comment group (?#...) is");
      if (kind == '>') return unsupported("an atomic group (?>...) is");
      if (kind == '(') return unsupported("a conditional group (?(...)...) is");
      return unsupported(fmt::format("the inline flag group '(?{}' is", kind));
    }
    if ((c == '*' || c == '+' || c == '?') && next == '+') return unsupported("a possessive quantifier is");
    if (c == '{') {
      auto [quantifier, length] = translate_braces(pattern, i);
      if (length == 0) {
        out += "\\{";
        continue;
      }
      out += quantifier;
      i += length - 1;
      if (i + 1 < pattern.size() && pattern[i + 1] == '+') return unsupported("a possessive quantifier is");
      continue;
    }
    if (c == '}') {
      out += "\\}";
      continue;
    }
    out += c;
  }
  if (in_class) return Error{"a character class '[' is not closed"};
  return out;
}

Expected<std::regex> compile_python_regex(std::string_view pattern) {
  auto translated = python_regex_to_ecmascript(pattern);
  LLMC_TRY(translated);
  try {
    return std::regex(*translated, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    return Error{fmt::format("invalid regular expression: {}", error.what())};
  }
}

bool python_re_match(const std::regex& regex, std::string_view text) {
  return std::regex_search(text.begin(), text.end(), regex, std::regex_constants::match_continuous);
}

}  // namespace llmc::recipe
