// core/util/log.cpp
#include "util/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace llmc::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;

const char* prefix(Level level) {
  switch (level) {
    case Level::debug: return "llmc: debug: ";
    case Level::info: return "llmc: ";
    case Level::warning: return "llmc: warning: ";
    case Level::error: return "llmc: error: ";
  }
  return "llmc: ";
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level level, std::string_view message) {
  if (level < g_level) return;
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s%.*s\n", prefix(level), static_cast<int>(message.size()), message.data());
}

}  // namespace llmc::log
