// core/pipeline/calibration_samples.cpp
#include "pipeline/calibration_samples.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "data/chat_template.h"
#include "data/dataset_reader.h"
#include "data/tokenizer.h"

namespace llmc::pipeline {

Expected<std::vector<std::vector<int32_t>>> load_calibration_samples(const std::filesystem::path& model_dir,
                                                                    const std::filesystem::path& dataset,
                                                                    const data::CalibrationOptions& options) {
  auto records = data::read_dataset(dataset, options.text_column);
  if (!records) return records.error();
  using Kind = data::DatasetRecord::Kind;
  const auto has = [&](Kind kind) {
    return std::any_of(records->begin(), records->end(), [&](const data::DatasetRecord& r) { return r.kind == kind; });
  };
  const bool has_text = has(Kind::kText) || has(Kind::kMessages);
  std::optional<data::Tokenizer> tokenizer;
  std::optional<data::ChatTemplate> chat_template;
  if (has_text) {
    auto loaded = data::Tokenizer::load(model_dir / "tokenizer.json");
    if (!loaded) return Error{fmt::format("{} holds text, which needs the model's tokenizer: {}", dataset.string(),
                                          loaded.error().message)};
    tokenizer = std::move(*loaded);
    if (has(Kind::kMessages)) {
      auto loaded_template = data::ChatTemplate::load(model_dir);
      if (!loaded_template) return Error{fmt::format("{} holds chat messages, which need the model's chat template: {}",
                                                     dataset.string(), loaded_template.error().message)};
      chat_template = std::move(*loaded_template);
    }
  }
  const data::TextEncoder encode = [&](std::string_view text, bool add_special_tokens) {
    return tokenizer->encode(text, add_special_tokens);
  };
  auto set = data::build_calibration_set(*records, options, encode, chat_template ? &*chat_template : nullptr);
  if (!set) return set.error();
  return std::move(set->samples);
}

}  // namespace llmc::pipeline
