// core/data/dataset_reader.h - the records of a calibration dataset file, before tokenization.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace llmc::data {

/// One sample as its file gives it: text, a chat (rendered later with the model's chat template), or
/// token ids (used as they are, like a reference dataset that already has "input_ids").
struct DatasetRecord {
  enum class Kind { kText, kMessages, kTokenIds };

  Kind kind = Kind::kText;
  std::string text;                 // kText
  nlohmann::ordered_json messages;  // kMessages: an array of objects, each with a string "role"
  std::vector<int32_t> token_ids;   // kTokenIds
  std::string origin;               // where it is, for errors: "FILE:LINE" or "FILE: record INDEX"
};

/// Reads a dataset by the file's extension:
/// - .txt: one sample per paragraph; paragraphs are separated by blank (or whitespace-only) lines, and a
///   paragraph's lines are joined with "\n". (Paragraphs, not lines: a calibration sample is usually longer
///   than a line, and a file of one-line samples separated by blank lines reads the same.)
/// - .json: an array of objects; .jsonl: one object per line (blank lines are skipped).
/// An object's sample is, in this order of precedence: "input_ids" (an array of int32), the string field
/// `text_column` (the reference's text_column, default "text"), or "messages". Errors name the file, the
/// line (txt, JSONL) or record index (JSON), and the key at fault; an empty dataset is an error.
Expected<std::vector<DatasetRecord>> read_dataset(const std::filesystem::path& path,
                                                  std::string_view text_column = "text");

}  // namespace llmc::data
