// core/eval/token_windows.h - the evaluation text as fixed-length windows of token ids.
#pragma once

#include <cstdint>
#include <vector>

#include "util/expected.h"

namespace llmc::eval {

/// Non-overlapping windows of `window` tokens over `tokens`, in order. Each window is scored on its own
/// (its first token is context only), so every window predicts window-1 tokens. A shorter tail of at least
/// two tokens becomes a last, shorter window; a single leftover token predicts nothing and is dropped.
/// At most `max_windows` windows when it is non-zero.
Expected<std::vector<std::vector<int32_t>>> split_windows(const std::vector<int32_t>& tokens, int64_t window,
                                                         int64_t max_windows = 0);

}  // namespace llmc::eval
