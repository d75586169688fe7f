// core/model/checkpoint.cpp
#include "model/checkpoint.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "util/log.h"

namespace llmc::model {
namespace {

Expected<nlohmann::json> read_json_object(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot read the file", path.string())};
  try {
    nlohmann::json json = nlohmann::json::parse(in);
    if (!json.is_object()) return Error{fmt::format("{}: not a JSON object", path.string())};
    return json;
  } catch (const nlohmann::json::parse_error& error) {
    return Error{fmt::format("{}: not valid JSON: {}", path.string(), error.what())};
  }
}

// Weights in other formats are never carried over to an output.
bool is_weight_file(const std::filesystem::path& path) {
  static constexpr std::array<std::string_view, 9> kWeightExtensions = {
      ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf", ".onnx"};
  const std::string name = path.filename().string();
  if (name.ends_with(".index.json")) return true;
  const std::string extension = path.extension().string();
  return std::find(kWeightExtensions.begin(), kWeightExtensions.end(), extension) != kWeightExtensions.end();
}

}  // namespace

Expected<Checkpoint> Checkpoint::open(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Error{fmt::format("{}: not a directory (expected a Hugging Face model directory)", dir.string())};
  Checkpoint checkpoint;
  checkpoint.dir_ = dir;

  const auto config_path = dir / kConfigFile;
  if (!std::filesystem::exists(config_path, ec))
    return Error{fmt::format("{}: missing: not a Hugging Face model directory?", config_path.string())};
  auto config = read_json_object(config_path);
  if (!config) return config.error();
  checkpoint.config_ = std::move(*config);

  const auto single_path = dir / kSingleFile;
  const auto index_path = dir / kIndexFile;
  if (std::filesystem::exists(single_path, ec)) {
    LLMC_TRY(checkpoint.add_file(single_path));
  } else if (std::filesystem::exists(index_path, ec)) {
    auto index = read_json_object(index_path);
    if (!index) return index.error();
    const auto weight_map = index->find("weight_map");
    if (weight_map == index->end() || !weight_map->is_object())
      return Error{fmt::format("{}: no \"weight_map\" object", index_path.string())};
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : weight_map->items()) {
      if (!shard.is_string())
        return Error{fmt::format("{}: weight_map entry of tensor '{}' is not a file name", index_path.string(), tensor)};
      const std::filesystem::path shard_path(shard.get<std::string>());
      if (shard_path.is_absolute() || std::find(shard_path.begin(), shard_path.end(), "..") != shard_path.end())
        return Error{fmt::format("{}: weight_map entry of tensor '{}' points outside the directory: {}",
                                 index_path.string(), tensor, shard_path.string())};
      if (!std::filesystem::is_regular_file(dir / shard_path, ec))
        return Error{fmt::format("{}: tensor '{}' is in {}, which does not exist", index_path.string(), tensor,
                                 (dir / shard_path).string())};
      shards.insert(shard_path.string());
    }
    for (const std::string& shard : shards) LLMC_TRY(checkpoint.add_file(dir / shard));
    for (const auto& [tensor, shard] : weight_map->items()) {
      const auto* file = checkpoint.files_[std::distance(shards.begin(), shards.find(shard.get<std::string>()))].get();
      if (!file->find(tensor))
        return Error{fmt::format("{}: tensor '{}' is mapped to {}, which does not hold it", index_path.string(),
                                 tensor, file->path().string())};
    }
    for (const std::string& name : checkpoint.names_)
      if (!weight_map->contains(name))
        log::warning("{}: tensor '{}' of {} is not in the weight_map", index_path.string(), name,
                     checkpoint.tensors_.at(name).file->path().filename().string());
  } else {
    return Error{fmt::format("{}: neither {} nor {} exists", dir.string(), kSingleFile, kIndexFile)};
  }

  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto& path = entry.path();
    const std::string name = path.filename().string();
    if (!entry.is_regular_file(ec) || name.starts_with('.') || name == kConfigFile || is_weight_file(path)) continue;
    checkpoint.auxiliary_.push_back(path);
  }
  if (ec) return Error{fmt::format("{}: cannot list the directory: {}", dir.string(), ec.message())};
  std::sort(checkpoint.auxiliary_.begin(), checkpoint.auxiliary_.end());
  return checkpoint;
}

Status Checkpoint::add_file(const std::filesystem::path& path) {
  auto file = SafetensorsFile::open(path);
  if (!file) return file.error();
  for (const TensorInfo& info : (*file)->tensors()) {
    const auto [it, inserted] = tensors_.emplace(info.name, TensorRef{file->get(), &info});
    if (!inserted)
      return Error{fmt::format("{}: tensor '{}' is also in {}", path.string(), info.name,
                               it->second.file->path().string())};
    names_.push_back(info.name);
  }
  files_.push_back(std::move(*file));
  return {};
}

std::optional<TensorRef> Checkpoint::find(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) return std::nullopt;
  return it->second;
}

Expected<TensorRef> Checkpoint::tensor(std::string_view name) const {
  if (auto ref = find(name)) return *ref;
  return Error{fmt::format("{}: no tensor '{}' in the checkpoint", dir_.string(), name)};
}

}  // namespace llmc::model
