// core/util/event_log.cpp
#include "util/event_log.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace llmc {

Expected<EventLog> EventLog::open(const std::filesystem::path& path) {
  EventLog log;
  log.file_.reset(std::fopen(path.c_str(), "w"));
  if (!log.file_) return Error{fmt::format("--log-json {}: cannot open for writing: {}", path.string(), std::strerror(errno))};
  return log;
}

void EventLog::emit(nlohmann::json event) {
  if (!file_) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  event["t"] = std::round(seconds * 1e6) / 1e6;
  const std::string line = event.dump() + "\n";
  std::lock_guard lock(*mutex_);
  std::fwrite(line.data(), 1, line.size(), file_.get());
  std::fflush(file_.get());  // a crash must not lose the events that led to it
}

}  // namespace llmc
