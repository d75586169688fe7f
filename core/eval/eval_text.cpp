// core/eval/eval_text.cpp - the token ids an evaluation scores, from a text, JSON or JSONL file.
#include "eval/eval_text.h"

#include <fmt/format.h>

#include "data/dataset_reader.h"
#include "util/read_file.h"

namespace llmc::eval {
namespace {

Expected<std::vector<int32_t>> dataset_tokens(const std::filesystem::path& path, const data::Tokenizer& tokenizer) {
  auto records = data::read_dataset(path);
  LLMC_TRY(records);
  std::string joined_text;
  std::vector<int32_t> ids;
  for (const data::DatasetRecord& record : *records) {
    switch (record.kind) {
      case data::DatasetRecord::Kind::kText:
        if (!joined_text.empty()) joined_text += "\n\n";
        joined_text += record.text;
        break;
      case data::DatasetRecord::Kind::kTokenIds:
        ids.insert(ids.end(), record.token_ids.begin(), record.token_ids.end());
        break;
      case data::DatasetRecord::Kind::kMessages:
        return Error{fmt::format("{}: chat messages cannot be scored as text; give eval text or input_ids",
                                 record.origin)};
    }
  }
  if (!joined_text.empty() && !ids.empty()) {
    return Error{fmt::format("{}: mixes text and input_ids records; use one kind", path.string())};
  }
  if (!joined_text.empty()) return tokenizer.encode(joined_text, true);
  return ids;
}

}  // namespace

Expected<std::vector<int32_t>> read_eval_tokens(const std::filesystem::path& path, const data::Tokenizer& tokenizer) {
  const std::string extension = path.extension().string();
  if (extension == ".json" || extension == ".jsonl") return dataset_tokens(path, tokenizer);
  auto text = read_file(path, "the evaluation text");
  LLMC_TRY(text);
  return tokenizer.encode(*text, true);
}

}  // namespace llmc::eval
