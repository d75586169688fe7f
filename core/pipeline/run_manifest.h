// core/pipeline/run_manifest.h - what a run writes beside the tensors: config.json, the tokenizer and
// other auxiliary files, the recipe, and llmc_manifest.json (versions, plugins, timings).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "pipeline/oneshot.h"
#include "recipe/recipe.h"
#include "util/expected.h"

namespace llmc::pipeline {

struct PluginUse {
  std::string modifier;  // "modifier 1 (magnitude_prune)"
  std::string name;
  std::string version;
  std::string abi_version;
  std::string file;
};

struct RunManifest {
  std::filesystem::path model;
  std::filesystem::path recipe;
  std::vector<PluginUse> plugins;
  RunSummary summary;
  double seconds = 0;
};

/// Writes `config` as config.json, the checkpoint's auxiliary files, recipe.toml and llmc_manifest.json
/// into `dir`.
Status write_checkpoint_files(const model::Checkpoint& checkpoint, const nlohmann::json& config,
                              const recipe::Recipe& recipe, const RunManifest& manifest,
                              const std::filesystem::path& dir);

}  // namespace llmc::pipeline
