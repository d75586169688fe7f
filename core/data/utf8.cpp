// core/data/utf8.cpp
#include "data/utf8.h"

namespace llmc::data {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence at `pos`, or 0 with `invalid_length` set to the length of the
// maximal invalid prefix there (Unicode's "maximal subpart" rule, which Rust follows).
std::size_t valid_sequence_length(std::string_view bytes, std::size_t pos, std::size_t& invalid_length) {
  const auto byte_at = [&](std::size_t i) { return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0; };
  const unsigned char first = byte_at(pos);
  invalid_length = 1;
  if (first < 0x80) return 1;
  std::size_t width = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (first >= 0xC2 && first <= 0xDF) {
    width = 2;
  } else if (first >= 0xE0 && first <= 0xEF) {
    width = 3;
    if (first == 0xE0) second_low = 0xA0;
    if (first == 0xED) second_high = 0x9F;  // no surrogates
  } else if (first >= 0xF0 && first <= 0xF4) {
    width = 4;
    if (first == 0xF0) second_low = 0x90;
    if (first == 0xF4) second_high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (pos + 1 >= bytes.size()) return 0;
  const unsigned char second = byte_at(pos + 1);
  if (second < second_low || second > second_high) return 0;
  for (std::size_t i = 2; i < width; ++i) {
    invalid_length = i;
    if (pos + i >= bytes.size() || !is_continuation(byte_at(pos + i))) return 0;
  }
  return width;
}

}  // namespace

char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const std::size_t length = utf8_sequence_length(lead);
  char32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t i = 1; i < length && pos + i < text.size(); ++i)
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  pos += length;
  return code_point;
}

std::size_t start_of_code_point_before(std::string_view text, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && is_continuation(static_cast<unsigned char>(text[start]))) --start;
  return start;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

std::u32string decode_utf8(std::string_view text) {
  const std::string lossy = is_valid_utf8(text) ? std::string() : utf8_lossy(text);
  const std::string_view valid = lossy.empty() ? text : std::string_view(lossy);
  std::u32string out;
  out.reserve(valid.size());
  for (std::size_t pos = 0; pos < valid.size();) out += next_code_point(valid, pos);
  return out;
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (const char32_t c : code_points) append_utf8(out, c);
  return out;
}

std::size_t utf8_char_count(std::string_view text) {
  std::size_t count = 0;
  for (const char byte : text) count += !is_continuation(static_cast<unsigned char>(byte));
  return count;
}

bool is_valid_utf8(std::string_view bytes) {
  std::size_t invalid_length = 0;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t length = valid_sequence_length(bytes, pos, invalid_length);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t invalid_length = 0;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t length = valid_sequence_length(bytes, pos, invalid_length);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      pos += invalid_length;
    } else {
      out.append(bytes.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

}  // namespace llmc::data
