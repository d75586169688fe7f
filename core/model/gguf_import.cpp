// core/model/gguf_import.cpp
#include "model/gguf_import.h"

#include <chrono>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "model/gguf_bf16_stream.h"
#include "model/gguf_config.h"
#include "model/gguf_file.h"
#include "model/gguf_tensor_names.h"
#include "model/gguf_tokenizer.h"
#include "model/output_directory.h"
#include "util/progress.h"

namespace llmc::model {
namespace {

GgufImportError input_error(const Error& error) { return {GgufImportFailure::input, error.message}; }
GgufImportError output_error(const Error& error) { return {GgufImportFailure::output, error.message}; }

struct PlannedTensor {
  const GgufTensorInfo* info;
  HfTensorTarget target;
};

// Every tensor's target, checked against the set the Hugging Face class loads.
Expected<std::vector<PlannedTensor>> plan_tensors(const GgufFile& file, const GgufModelConfig& config) {
  std::vector<PlannedTensor> plan;
  std::set<std::string, std::less<>> produced;
  for (const auto& info : file.tensors()) {
    auto target = hf_tensor_target(file.path(), info.name, config);
    if (!target) return target.error();
    if (info.shape != target->shape)
      return Error{fmt::format("{}: the tensor '{}' has shape [{}], but the metadata make {} [{}]",
                               file.path().string(), info.name, fmt::join(info.shape, ", "), target->name,
                               fmt::join(target->shape, ", "))};
    auto stream = GgufBf16Stream::create(file, info, target->permuted_heads);  // checks type and shape
    if (!stream) return stream.error();
    produced.insert(target->name);
    plan.push_back({&info, std::move(*target)});
  }
  for (const auto& name : expected_hf_tensor_names(config))
    if (!produced.contains(name))
      return Error{fmt::format("{}: no tensor of the file gives the Hugging Face tensor '{}' that {} needs",
                               file.path().string(), name, config.architecture->hf_class)};
  return plan;
}

// The JSON text, indented by 2; an error names the GGUF file when a string in it is not UTF-8.
template <class JsonType>
Expected<std::string> json_text(const JsonType& json, const GgufFile& file, std::string_view what) {
  try {
    return json.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return Error{fmt::format("{}: cannot write its {} as JSON: {}", file.path().string(), what, e.what())};
  }
}

Status write_text(const std::string& text, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error{fmt::format("{}: cannot write", path.string())};
  return {};
}

}  // namespace

std::variant<GgufImportSummary, GgufImportError> import_gguf(const GgufImportOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto file = GgufFile::open(options.gguf);
  if (!file) return input_error(file.error());
  const GgufFile& gguf = **file;
  auto config = read_gguf_model_config(gguf);
  if (!config) return input_error(config.error());
  auto plan = plan_tensors(gguf, *config);
  if (!plan) return input_error(plan.error());
  auto tokenizer = convert_gguf_tokenizer(gguf, *config);
  if (!tokenizer) return input_error(tokenizer.error());
  auto tokenizer_json = json_text(tokenizer->tokenizer, gguf, "tokenizer (tokenizer.ggml.*)");
  if (!tokenizer_json) return input_error(tokenizer_json.error());
  auto tokenizer_config_json = json_text(tokenizer->tokenizer_config, gguf, "special tokens");
  if (!tokenizer_config_json) return input_error(tokenizer_config_json.error());
  auto generation_config_json = json_text(hf_generation_config(*config), gguf, "generation config");
  if (!generation_config_json) return input_error(generation_config_json.error());

  auto output = OutputDirectory::create(options.output, options.overwrite);
  if (!output) return output_error(output.error());
  SafetensorsWriter writer(output->path(), options.max_shard_bytes, plan->size());
  Progress progress(options.progress && stderr_is_terminal());
  progress.start("import", plan->size());
  for (size_t i = 0; i < plan->size(); ++i) {
    const PlannedTensor& tensor = (*plan)[i];
    auto stream = GgufBf16Stream::create(gguf, *tensor.info, tensor.target.permuted_heads);
    if (!stream) return input_error(stream.error());
    auto fill = [&](uint64_t offset, std::span<std::byte> chunk) { return stream->fill(offset, chunk); };
    if (auto status = writer.add_generated(tensor.target.name, DType::BF16, tensor.info->shape, fill); !status)
      return output_error(status.error());
    progress.update(i + 1, tensor.target.name);
  }
  progress.finish();
  auto written = writer.finish();
  if (!written) return output_error(written.error());

  const std::filesystem::path& dir = output->path();
  if (auto status = write_config(hf_config(*config), dir); !status) return output_error(status.error());
  const std::vector<std::pair<std::string_view, const std::string*>> texts = {
      {"generation_config.json", &*generation_config_json},
      {"tokenizer.json", &*tokenizer_json},
      {"tokenizer_config.json", &*tokenizer_config_json},
      {"chat_template.jinja", tokenizer->chat_template ? &*tokenizer->chat_template : nullptr},
  };
  for (const auto& [name, text] : texts)
    if (text != nullptr)
      if (auto status = write_text(*text, dir / name); !status) return output_error(status.error());
  if (auto status = output->commit(); !status) return output_error(status.error());

  GgufImportSummary summary;
  summary.tensors = written->tensor_count;
  summary.bytes = written->total_size;
  summary.shards = written->files.size();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.output = output->final_path();
  return summary;
}

}  // namespace llmc::model
