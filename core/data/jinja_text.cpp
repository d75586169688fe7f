// core/data/jinja_text.cpp
#include "data/jinja_text.h"

#include "data/utf8.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>

namespace llmc::data::jinja {

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string strip(std::string_view text, const std::optional<std::string>& chars, StripSide side) {
  const std::u32string code_points = decode_utf8(text);
  const std::u32string strip_set = chars ? decode_utf8(*chars) : std::u32string{};
  auto stripped = [&](char32_t c) { return chars ? strip_set.find(c) != std::u32string::npos : is_python_space(c); };
  size_t begin = 0;
  size_t end = code_points.size();
  if (side != StripSide::kRight) {
    while (begin < end && stripped(code_points[begin])) ++begin;
  }
  if (side != StripSide::kLeft) {
    while (end > begin && stripped(code_points[end - 1])) --end;
  }
  return encode_utf8(std::u32string_view(code_points).substr(begin, end - begin));
}

std::vector<std::string> split(std::string_view text, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t found = text.find(*sep, start);
      if (found == std::string_view::npos) break;
      parts.emplace_back(text.substr(start, found - start));
      start = found + sep->size();
    }
    parts.emplace_back(text.substr(start));
    return parts;
  }
  const std::u32string code_points = decode_utf8(text);
  size_t i = 0;
  while (true) {
    while (i < code_points.size() && is_python_space(code_points[i])) ++i;
    if (i == code_points.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t end = code_points.size();
      while (end > i && is_python_space(code_points[end - 1])) --end;
      parts.push_back(encode_utf8(std::u32string_view(code_points).substr(i, end - i)));
      break;
    }
    const size_t start = i;
    while (i < code_points.size() && !is_python_space(code_points[i])) ++i;
    parts.push_back(encode_utf8(std::u32string_view(code_points).substr(start, i - start)));
  }
  return parts;
}

std::vector<size_t> slice_indices(size_t size, std::optional<int64_t> start, std::optional<int64_t> stop,
                                  int64_t step) {
  const auto n = static_cast<int64_t>(size);
  // CPython's PySlice_AdjustIndices.
  auto adjust = [n, step](std::optional<int64_t> index, int64_t if_absent) {
    if (!index) return if_absent;
    int64_t i = *index;
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t first = adjust(start, step < 0 ? n - 1 : 0);
  const int64_t last = adjust(stop, step < 0 ? -1 : n);
  std::vector<size_t> indices;
  for (int64_t i = first; step > 0 ? i < last : i > last; i += step) indices.push_back(static_cast<size_t>(i));
  return indices;
}

namespace {

template <class Map>
std::string map_code_points(std::string_view text, Map map) {
  std::u32string code_points = decode_utf8(text);
  for (size_t i = 0; i < code_points.size(); ++i) code_points[i] = map(i, code_points);
  return encode_utf8(code_points);
}

char32_t upper(char32_t c) { return static_cast<char32_t>(u_toupper(static_cast<UChar32>(c))); }
char32_t lower(char32_t c) { return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c))); }

}  // namespace

// Full case mapping (ß -> SS), as Python's str.upper() and str.lower() do.
std::string to_upper(std::string_view text) {
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
      .toUpper(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

std::string to_lower(std::string_view text) {
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

std::string to_title(std::string_view text) {
  return map_code_points(text, [](size_t i, const std::u32string& s) {
    const bool after_letter = i > 0 && u_isalpha(static_cast<UChar32>(s[i - 1]));
    return after_letter ? lower(s[i]) : upper(s[i]);
  });
}

std::string capitalize(std::string_view text) {
  return map_code_points(text, [](size_t i, const std::u32string& s) { return i == 0 ? upper(s[i]) : lower(s[i]); });
}

}  // namespace llmc::data::jinja
