// core/model/checkpoint.h - a Hugging Face model directory: config.json, the safetensors (single or
// sharded through model.safetensors.index.json), and the files to carry over to an output.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/safetensors_file.h"
#include "util/expected.h"

namespace llmc::model {

/// A tensor of a checkpoint: the file that holds it and its header entry (both owned by the Checkpoint).
struct TensorRef {
  const SafetensorsFile* file;
  const TensorInfo* info;
};

class Checkpoint {
 public:
  static constexpr std::string_view kSingleFile = "model.safetensors";
  static constexpr std::string_view kIndexFile = "model.safetensors.index.json";
  static constexpr std::string_view kConfigFile = "config.json";

  /// Opens `dir`. A single model.safetensors wins over an index (as in transformers). For a sharded
  /// checkpoint every file of the weight map must exist and hold its tensors, and no tensor may be in
  /// two shards.
  static Expected<Checkpoint> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  /// The safetensors files, in shard order.
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  /// Every tensor name: the shards in order, each in file order.
  const std::vector<std::string>& tensor_names() const { return names_; }
  /// nullopt when no shard holds `name`.
  std::optional<TensorRef> find(std::string_view name) const;
  /// As find(), with an error naming the checkpoint and the tensor.
  Expected<TensorRef> tensor(std::string_view name) const;
  /// The other regular files of the directory (tokenizer, generation config, chat template, ...), sorted
  /// by name: not the weights, the index, config.json, nor hidden files.
  const std::vector<std::filesystem::path>& auxiliary_files() const { return auxiliary_; }

 private:
  Status add_file(const std::filesystem::path& path);

  std::filesystem::path dir_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::string> names_;
  std::map<std::string, TensorRef, std::less<>> tensors_;
  std::vector<std::filesystem::path> auxiliary_;
};

}  // namespace llmc::model
