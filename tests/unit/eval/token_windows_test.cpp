// tests/unit/eval/token_windows_test.cpp - splitting the evaluation tokens into windows.
#include <gtest/gtest.h>

#include "eval/token_windows.h"

namespace llmc::eval {
namespace {

std::vector<int32_t> iota(int32_t n) {
  std::vector<int32_t> values(n);
  for (int32_t i = 0; i < n; ++i) values[i] = i;
  return values;
}

TEST(TokenWindows, SplitsIntoNonOverlappingWindowsWithAShorterTail) {
  auto windows = split_windows(iota(10), 4);
  ASSERT_TRUE(windows) << windows.error().message;
  ASSERT_EQ(windows->size(), 3u);
  EXPECT_EQ((*windows)[0], (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ((*windows)[2], (std::vector<int32_t>{8, 9}));
}

TEST(TokenWindows, DropsASingleLeftoverToken) {
  auto windows = split_windows(iota(9), 4);
  ASSERT_TRUE(windows);
  EXPECT_EQ(windows->size(), 2u);
}

TEST(TokenWindows, StopsAtTheWindowLimit) {
  auto windows = split_windows(iota(100), 10, 3);
  ASSERT_TRUE(windows);
  EXPECT_EQ(windows->size(), 3u);
}

TEST(TokenWindows, RejectsTooLittleTextOrATinyWindow) {
  auto short_text = split_windows(iota(1), 4);
  ASSERT_FALSE(short_text);
  EXPECT_NE(short_text.error().message.find("1 token"), std::string::npos);
  EXPECT_FALSE(split_windows(iota(10), 1));
}

}  // namespace
}  // namespace llmc::eval
