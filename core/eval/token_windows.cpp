// core/eval/token_windows.cpp - the evaluation text as fixed-length windows of token ids.
#include "eval/token_windows.h"

#include <fmt/format.h>

#include <algorithm>

namespace llmc::eval {

Expected<std::vector<std::vector<int32_t>>> split_windows(const std::vector<int32_t>& tokens, int64_t window,
                                                         int64_t max_windows) {
  if (window < 2) return Error{fmt::format("the window must hold at least 2 tokens, got {}", window)};
  if (tokens.size() < 2) {
    return Error{fmt::format("the evaluation text has {} token(s); at least 2 are needed", tokens.size())};
  }
  std::vector<std::vector<int32_t>> windows;
  const auto total = static_cast<int64_t>(tokens.size());
  for (int64_t begin = 0; begin + 1 < total; begin += window) {
    if (max_windows > 0 && static_cast<int64_t>(windows.size()) == max_windows) break;
    const int64_t end = std::min(begin + window, total);
    windows.emplace_back(tokens.begin() + begin, tokens.begin() + end);
  }
  return windows;
}

}  // namespace llmc::eval
