// core/eval/eval_text.h - the token ids an evaluation scores, from a text, JSON or JSONL file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/tokenizer.h"
#include "util/expected.h"

namespace llmc::eval {

/// The tokens of the evaluation file as one stream. A .txt file is one text, tokenized whole (as
/// transformers' perplexity guide tokenizes its corpus). A .json or .jsonl dataset (see data::read_dataset)
/// gives texts, joined with "\n\n" before tokenizing, or token ids, concatenated as they are; chat records
/// are refused (render them to text first).
Expected<std::vector<int32_t>> read_eval_tokens(const std::filesystem::path& path, const data::Tokenizer& tokenizer);

}  // namespace llmc::eval
