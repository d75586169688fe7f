// core/util/log.h - the host's log: levels, a stderr sink, and an optional JSON event sink.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace llmc::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

/// Messages below this level are dropped. Default: info.
void set_level(Level level);
Level level();

/// Writes one line to stderr ("llmc: warning: ..."). Thread-safe.
void write(Level level, std::string_view message);

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::warning, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::debug) write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace llmc::log
