// core/data/utf8.h - UTF-8 as the tokenizer needs it: walking code points, and Rust's lossy decoding (what
// Hugging Face tokenizers does to byte sequences that are not UTF-8).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmc::data {

/// The byte length of the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte).
inline std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

/// The code point at `pos` of valid UTF-8 `text`; advances `pos` past it.
char32_t next_code_point(std::string_view text, std::size_t& pos);
/// Where the code point that ends at `end` (> 0) of valid UTF-8 `text` begins.
std::size_t start_of_code_point_before(std::string_view text, std::size_t end);
void append_utf8(std::string& out, char32_t code_point);
std::size_t utf8_char_count(std::string_view text);

/// The code points of `text`; invalid UTF-8 is read as utf8_lossy reads it.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view code_points);

bool is_valid_utf8(std::string_view bytes);
/// `bytes` with every maximal invalid subsequence replaced by U+FFFD, as Rust's String::from_utf8_lossy does.
std::string utf8_lossy(std::string_view bytes);

}  // namespace llmc::data
