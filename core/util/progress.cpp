// core/util/progress.cpp
#include "util/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace llmc {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(bool enabled) : enabled_(enabled) {}
Progress::~Progress() { finish(); }

void Progress::start(std::string stage, uint64_t total) {
  finish();
  stage_ = std::move(stage);
  total_ = total;
  done_ = 0;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  draw({});
}

void Progress::update(uint64_t done, std::string_view detail) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  draw(detail);
}

void Progress::draw(std::string_view detail) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  constexpr int kWidth = 24;
  const int filled = total_ ? static_cast<int>(kWidth * done_ / total_) : 0;
  const double seconds = std::chrono::duration<double>(last_draw_ - started_).count();
  std::fprintf(stderr, "\r\033[K%s [%s%s] %llu/%llu %5.1fs %.*s", stage_.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), static_cast<unsigned long long>(done_),
               static_cast<unsigned long long>(total_), seconds, static_cast<int>(std::min<size_t>(detail.size(), 60)),
               detail.data());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace llmc
