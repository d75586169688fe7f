// core/data/pre_tokenizer.h - tokenizer.json's `pre_tokenizer`: splits the normalized text between added
// tokens into the words the model tokenizes one by one (and maps bytes for byte-level BPEs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

/// One piece of text on its way to the model.
struct PreToken {
  std::string text;
  /// Whether the piece begins where the whole input text begins (Metaspace's prepend_scheme "first").
  bool at_text_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;

  /// Splits every piece further, in order; no piece comes back empty.
  virtual std::vector<PreToken> pre_tokenize(std::vector<PreToken> pieces) const = 0;

  /// Reads a pre-tokenizer object: Sequence, ByteLevel, Split, Digits or Metaspace; errors name the file and
  /// JSON path.
  static Expected<std::unique_ptr<const PreTokenizer>> parse(const JsonNode& node);
};

}  // namespace llmc::data
