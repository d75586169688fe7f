// core/util/progress.h - a one-line progress display on long work, drawn only on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmc {

/// Redraws "\r<stage> [#####.....] done/total <detail>" on stderr at most 10 times a second. When stderr
/// is not a terminal (or the display is off) it draws nothing; callers log a summary line instead.
class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();

  void start(std::string stage, uint64_t total);
  void update(uint64_t done, std::string_view detail = {});
  /// Clears the line.
  void finish();

 private:
  void draw(std::string_view detail);

  bool enabled_;
  bool drawn_ = false;
  std::string stage_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_draw_{};
};

/// True when stderr is an interactive terminal.
bool stderr_is_terminal();

}  // namespace llmc
