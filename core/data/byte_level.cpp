// core/data/byte_level.cpp
#include "data/byte_level.h"

#include <array>

#include "data/utf8.h"

namespace llmc::data {
namespace {

constexpr std::size_t kUnprintableBytes = 68;  // 0-32, 127-160 and 173

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for U+0100 upwards.
struct ByteLevelAlphabet {
  std::array<std::string, 256> utf8_of_byte;
  std::array<char32_t, 256> char_of_byte;
  std::array<unsigned char, kUnprintableBytes> byte_of_unprintable;  // indexed by character - 0x100

  ByteLevelAlphabet() {
    std::size_t unprintable = 0;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      if (printable) {
        char_of_byte[byte] = static_cast<char32_t>(byte);
      } else {
        char_of_byte[byte] = 0x100 + static_cast<char32_t>(unprintable);
        byte_of_unprintable[unprintable++] = static_cast<unsigned char>(byte);
      }
      append_utf8(utf8_of_byte[byte], char_of_byte[byte]);
    }
  }
};

const ByteLevelAlphabet& alphabet() {
  static const ByteLevelAlphabet instance;
  return instance;
}

}  // namespace

std::string to_byte_level(std::string_view bytes) {
  const auto& utf8_of_byte = alphabet().utf8_of_byte;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes) out += utf8_of_byte[static_cast<unsigned char>(byte)];
  return out;
}

std::optional<unsigned char> byte_of_byte_level_char(char32_t character) {
  if (character < 0x100) {
    if (alphabet().char_of_byte[character] == character) return static_cast<unsigned char>(character);
    return std::nullopt;
  }
  if (character < 0x100 + kUnprintableBytes) return alphabet().byte_of_unprintable[character - 0x100];
  return std::nullopt;
}

}  // namespace llmc::data
