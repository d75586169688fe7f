// core/data/jinja_text.h - Python str operations on UTF-8 text, by code point as Python counts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/utf8.h"  // decode_utf8, encode_utf8

namespace llmc::data::jinja {

/// str.isspace() for one code point.
bool is_python_space(char32_t c);

enum class StripSide { kBoth, kLeft, kRight };
/// str.strip(chars) / lstrip / rstrip; no `chars` strips whitespace.
std::string strip(std::string_view text, const std::optional<std::string>& chars, StripSide side);

/// str.split(sep, maxsplit); no `sep` splits on runs of whitespace and drops empty parts. `sep` must not be
/// empty. maxsplit < 0: no limit.
std::vector<std::string> split(std::string_view text, const std::optional<std::string>& sep, int64_t maxsplit);

/// The indices a Python slice [start:stop:step] selects from a sequence of `size` items. step != 0.
std::vector<size_t> slice_indices(size_t size, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step);

/// str.upper() / str.lower().
std::string to_upper(std::string_view text);
std::string to_lower(std::string_view text);
/// str.title(): each run of letters starts upper case, the rest lower.
std::string to_title(std::string_view text);
/// str.capitalize(): the first character upper case, the rest lower.
std::string capitalize(std::string_view text);

}  // namespace llmc::data::jinja
