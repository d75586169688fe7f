// core/data/normalizer.h - tokenizer.json's `normalizer`: rewrites the text between added tokens before the
// pre-tokenizer sees it (Unicode normalization, lowercasing, Llama-2's "▁" for spaces).
#pragma once

#include <memory>
#include <string>

#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

class Normalizer {
 public:
  virtual ~Normalizer() = default;

  /// The normalized form of `text` (valid UTF-8).
  virtual std::string normalize(std::string text) const = 0;

  /// Reads a normalizer object: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip or
  /// ByteLevel; errors name the file and JSON path.
  static Expected<std::unique_ptr<const Normalizer>> parse(const JsonNode& node);
};

}  // namespace llmc::data
