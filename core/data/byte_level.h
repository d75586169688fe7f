// core/data/byte_level.h - GPT-2's byte-level alphabet: every byte stands for a printable character (the space
// is "Ġ"), so that a BPE over these characters covers any text without an unknown token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmc::data {

/// `bytes` with every byte replaced by the UTF-8 of its byte-level character.
std::string to_byte_level(std::string_view bytes);

/// The byte a byte-level character stands for; nullopt for any other character.
std::optional<unsigned char> byte_of_byte_level_char(char32_t character);

}  // namespace llmc::data
