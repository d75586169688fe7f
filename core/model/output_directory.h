// core/model/output_directory.h - an output directory that appears complete or not at all.
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "util/expected.h"

namespace llmc::model {

/// Everything is written into a hidden temporary sibling of the final path; commit() renames it into
/// place. An OutputDirectory destroyed without commit() removes the temporary directory, so a failed run
/// never leaves an output that looks complete.
class OutputDirectory {
 public:
  /// Fails when `final_path` exists and `overwrite` is false.
  static Expected<OutputDirectory> create(const std::filesystem::path& final_path, bool overwrite);

  OutputDirectory(OutputDirectory&& other) noexcept;
  OutputDirectory& operator=(OutputDirectory&& other) noexcept;
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;
  ~OutputDirectory();

  /// Where to write until commit(); the final path afterwards.
  const std::filesystem::path& path() const { return committed_ ? final_path_ : temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }

  /// Moves the directory into place. With overwrite, an existing output is renamed aside first and
  /// removed only once the new one is in place.
  Status commit();

 private:
  OutputDirectory() = default;
  void remove_temporary();

  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool overwrite_ = false;
  bool committed_ = false;
};

/// The temporary siblings of `final_path` (".<name>.tmp-<pid>-<tag>") whose process is gone: what a run killed
/// beyond cleaning up (SIGKILL, a power cut) left behind. create() warns about each; none is removed, since a
/// process of that number on another host sharing the directory cannot be ruled out.
std::vector<std::filesystem::path> interrupted_run_leftovers(const std::filesystem::path& final_path);

/// Copies the checkpoint's auxiliary files (tokenizer, generation config, ...) into `dir`.
Status copy_auxiliary_files(const Checkpoint& checkpoint, const std::filesystem::path& dir);

/// Writes `config` as dir/config.json, indented by 2 with sorted keys, as transformers does.
Status write_config(const nlohmann::json& config, const std::filesystem::path& dir);

}  // namespace llmc::model
