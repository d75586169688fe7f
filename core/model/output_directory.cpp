// core/model/output_directory.cpp
#include "model/output_directory.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "util/log.h"

namespace llmc::model {
namespace {

// ".<name>.<kind>-<pid>-<random>" beside `final_path`.
std::filesystem::path sibling(const std::filesystem::path& final_path, std::string_view kind) {
  std::random_device random;
  const uint64_t tag = (static_cast<uint64_t>(random()) << 32) | random();
  return final_path.parent_path() /
         fmt::format(".{}.{}-{}-{:016x}", final_path.filename().string(), kind, ::getpid(), tag);
}

// The process number in a sibling's name ".<name>.<kind>-<pid>-<tag>", or 0.
pid_t sibling_pid(std::string_view entry, std::string_view prefix) {
  if (!entry.starts_with(prefix)) return 0;
  entry.remove_prefix(prefix.size());
  pid_t pid = 0;
  const auto [end, error] = std::from_chars(entry.data(), entry.data() + entry.size(), pid);
  return error == std::errc() && end != entry.data() && *end == '-' ? pid : 0;
}

}  // namespace

std::vector<std::filesystem::path> interrupted_run_leftovers(const std::filesystem::path& final_path) {
  std::vector<std::filesystem::path> leftovers;
  const std::string prefix = fmt::format(".{}.tmp-", final_path.filename().string());
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(final_path.parent_path(), ec)) {
    const pid_t pid = sibling_pid(entry.path().filename().string(), prefix);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) leftovers.push_back(entry.path());
  }
  std::sort(leftovers.begin(), leftovers.end());
  return leftovers;
}

Expected<OutputDirectory> OutputDirectory::create(const std::filesystem::path& final_path, bool overwrite) {
  std::filesystem::path path = std::filesystem::absolute(final_path).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "out/" names "out"
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !overwrite)
    return Error{fmt::format("{}: the output already exists (pass --overwrite to replace it)", path.string())};
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error{fmt::format("{}: cannot create the parent directory: {}", path.string(), ec.message())};
  for (const auto& leftover : interrupted_run_leftovers(path))
    log::warning("{}: left by an interrupted run (its process is gone); remove it to free its space",
                 leftover.string());
  OutputDirectory output;
  output.final_path_ = path;
  output.overwrite_ = overwrite;
  output.temp_path_ = sibling(path, "tmp");
  if (!std::filesystem::create_directory(output.temp_path_, ec) || ec)
    return Error{fmt::format("{}: cannot create the temporary directory {}: {}", path.string(),
                             output.temp_path_.string(), ec ? ec.message() : "it exists")};
  return output;
}

OutputDirectory::OutputDirectory(OutputDirectory&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      temp_path_(std::exchange(other.temp_path_, {})),
      overwrite_(other.overwrite_),
      committed_(other.committed_) {}

OutputDirectory& OutputDirectory::operator=(OutputDirectory&& other) noexcept {
  if (this != &other) {
    remove_temporary();
    final_path_ = std::move(other.final_path_);
    temp_path_ = std::exchange(other.temp_path_, {});
    overwrite_ = other.overwrite_;
    committed_ = other.committed_;
  }
  return *this;
}

OutputDirectory::~OutputDirectory() { remove_temporary(); }

void OutputDirectory::remove_temporary() {
  if (committed_ || temp_path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(temp_path_, ec);
  if (ec) log::warning("{}: cannot remove the temporary directory: {}", temp_path_.string(), ec.message());
  temp_path_.clear();
}

Status OutputDirectory::commit() {
  if (committed_ || temp_path_.empty())
    return Error{fmt::format("{}: the output directory is already committed", final_path_.string())};
  std::error_code ec;
  std::filesystem::path old_path;
  if (std::filesystem::exists(final_path_, ec)) {
    if (!overwrite_)
      return Error{fmt::format("{}: the output appeared while writing it (pass --overwrite to replace it)",
                               final_path_.string())};
    old_path = sibling(final_path_, "old");
    std::filesystem::rename(final_path_, old_path, ec);
    if (ec) return Error{fmt::format("{}: cannot move the old output aside: {}", final_path_.string(), ec.message())};
  }
  std::filesystem::rename(temp_path_, final_path_, ec);
  if (ec) {
    std::error_code restore;
    if (!old_path.empty()) std::filesystem::rename(old_path, final_path_, restore);
    return Error{fmt::format("{}: cannot move the new output into place: {}", final_path_.string(), ec.message())};
  }
  committed_ = true;
  if (!old_path.empty()) {
    std::filesystem::remove_all(old_path, ec);
    if (ec) log::warning("{}: cannot remove the replaced output: {}", old_path.string(), ec.message());
  }
  return {};
}

Status copy_auxiliary_files(const Checkpoint& checkpoint, const std::filesystem::path& dir) {
  for (const auto& source : checkpoint.auxiliary_files()) {
    std::error_code ec;
    std::filesystem::copy_file(source, dir / source.filename(), std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Error{fmt::format("{}: cannot copy to {}: {}", source.string(), dir.string(), ec.message())};
  }
  return {};
}

Status write_config(const nlohmann::json& config, const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << config.dump(2) << '\n';
  out.close();
  if (!out) return Error{fmt::format("{}: cannot write", path.string())};
  return {};
}

}  // namespace llmc::model
