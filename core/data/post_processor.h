// core/data/post_processor.h - tokenizer.json's `post_processor`, for a single sequence: the special tokens
// it puts before and after the encoded text (Llama-3's <|begin_of_text|>, Llama-2's <s>, RoBERTa's <s> ... </s>).
#pragma once

#include <cstdint>
#include <vector>

#include "data/tokenizer_json.h"
#include "util/expected.h"

namespace llmc::data {

struct PostProcessor {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;

  /// Reads a post-processor object (null: none): TemplateProcessing (its `single` template), RobertaProcessing,
  /// BertProcessing, ByteLevel (no tokens) or a Sequence of them. Errors name the file and JSON path.
  static Expected<PostProcessor> parse(const JsonNode& node);
};

}  // namespace llmc::data
