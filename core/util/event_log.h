// core/util/event_log.h - `--log-json FILE`: one JSON object per line for every lifecycle step.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>

#include "util/expected.h"

namespace llmc {

/// Appends events as JSON lines, each stamped with "t" (seconds since the log was opened). A
/// default-constructed log is disabled and drops every event. Thread-safe.
class EventLog {
 public:
  EventLog() = default;
  static Expected<EventLog> open(const std::filesystem::path& path);

  bool enabled() const { return file_ != nullptr; }
  void emit(nlohmann::json event);

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace llmc
