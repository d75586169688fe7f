// core/data/token_decoder.h - tokenizer.json's `decoder`: turns the tokens of a sequence of ids back into text
// (byte-level characters to bytes, "▁" to spaces, <0xAB> byte tokens to UTF-8).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;

  /// One step of the chain: tokens in, tokens out (tokenizers' decode_chain). The text is their concatenation.
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;

  /// Reads a decoder object: Sequence, ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace or BPEDecoder;
  /// errors name the file and JSON path.
  static Expected<std::unique_ptr<const TokenDecoder>> parse(const JsonNode& node);
};

}  // namespace llmc::data
