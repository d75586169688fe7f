// core/model/gguf_tokenizer.h - a GGUF file's tokenizer (tokenizer.ggml.* metadata) as the Hugging Face
// tokenizer files: tokenizer.json, tokenizer_config.json and chat_template.jinja.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/gguf_config.h"
#include "model/gguf_file.h"
#include "util/expected.h"

namespace llmc::model {

struct HfTokenizerFiles {
  nlohmann::ordered_json tokenizer;         // tokenizer.json (the `tokenizers` library's serialization)
  nlohmann::ordered_json tokenizer_config;  // tokenizer_config.json
  std::optional<std::string> chat_template; // chat_template.jinja, from tokenizer.chat_template
};

/// Converts a byte-level BPE tokenizer (tokenizer.ggml.model "gpt2") with the pre-tokenizer llama.cpp applies
/// for tokenizer.ggml.pre: the vocabulary in id order, the merges, control tokens (token_type 3) as special
/// added tokens and user-defined ones (4) as plain added tokens, a post-processor adding BOS/EOS as
/// tokenizer.ggml.add_bos_token/add_eos_token say, and the ByteLevel decoder. Errors name the file and the key:
/// another tokenizer model or an unknown pre-tokenizer (both listing the supported values), arrays of
/// mismatched lengths, merges that are malformed or name tokens missing from the vocabulary.
Expected<HfTokenizerFiles> convert_gguf_tokenizer(const GgufFile& file, const GgufModelConfig& config);

/// tokenizer.ggml.pre values llmc converts, for messages.
std::string supported_gguf_pre_tokenizers();

}  // namespace llmc::model
