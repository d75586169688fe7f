// core/pipeline/run_manifest.cpp
#include "pipeline/run_manifest.h"

#include "model/output_directory.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

#ifndef LLMC_VERSION
#define LLMC_VERSION "0.0.0"
#endif

namespace llmc::pipeline {
namespace {

Status write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return Error{fmt::format("cannot write {}", path.string())};
  return Status::ok();
}

nlohmann::json manifest_json(const RunManifest& manifest) {
  auto plugins = nlohmann::json::array();
  for (const auto& use : manifest.plugins)
    plugins.push_back({{"modifier", use.modifier}, {"plugin", use.name}, {"version", use.version},
                       {"abi", use.abi_version}, {"file", use.file}});
  return {
      {"llmc_version", LLMC_VERSION},
      {"plugin_abi", fmt::format("{}.{}", LLMC_ABI_MAJOR, LLMC_ABI_MINOR)},
      {"model", manifest.model.string()},
      {"recipe", manifest.recipe.string()},
      {"plugins", plugins},
      {"units", manifest.summary.units},
      {"modules_compressed", manifest.summary.modules_compressed},
      {"tensors_written", manifest.summary.tensors_written},
      {"bytes_written", manifest.summary.bytes_written},
      {"seconds", manifest.seconds},
  };
}

}  // namespace

Status write_checkpoint_files(const model::Checkpoint& checkpoint, const nlohmann::json& config,
                              const recipe::Recipe& recipe, const RunManifest& manifest,
                              const std::filesystem::path& dir) {
  LLMC_TRY(model::write_config(config, dir));
  LLMC_TRY(model::copy_auxiliary_files(checkpoint, dir));
  LLMC_TRY(write_text(dir / "recipe.toml", recipe.text));
  return write_text(dir / "llmc_manifest.json", manifest_json(manifest).dump(2) + "\n");
}

}  // namespace llmc::pipeline
