// tests/unit/tensor/memory_budget_test.cpp - MemoryBudget accounting and messages, format_bytes.
#include "tensor/memory_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tensor/format_bytes.h"

namespace llmc {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

TEST(FormatBytes, PicksBinaryUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(512 * kMiB), "512.0 MiB");
  EXPECT_EQ(format_bytes(3 * kMiB * 1024 / 2), "1.5 GiB");
  EXPECT_EQ(format_bytes(UINT64_MAX), "16.0 EiB");
}

TEST(MemoryBudget, CountsInUseAndPeak) {
  MemoryBudget budget(100);
  ASSERT_TRUE(budget.reserve(60, "a"));
  ASSERT_TRUE(budget.reserve(40, "b"));
  EXPECT_EQ(budget.in_use(), 100u);
  budget.release(60);
  EXPECT_EQ(budget.in_use(), 40u);
  EXPECT_EQ(budget.peak(), 100u);
  budget.release(40);
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_EQ(budget.limit(), 100u);
}

TEST(MemoryBudget, ExceedingFailsWithoutChargingAndSaysWhy) {
  MemoryBudget budget(512 * kMiB);
  ASSERT_TRUE(budget.reserve(480 * kMiB, "hidden states"));
  const Status status = budget.reserve(64 * kMiB, "model.layers.0.mlp.up_proj.weight");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "memory budget of 512.0 MiB exceeded: allocating 'model.layers.0.mlp.up_proj.weight' (64.0 MiB) "
            "with 480.0 MiB in use; raise --memory-budget");
  EXPECT_TRUE(status.error().out_of_memory);  // plugins see LLMC_ERROR_OUT_OF_MEMORY
  EXPECT_EQ(budget.in_use(), 480 * kMiB);
  EXPECT_TRUE(budget.reserve(32 * kMiB, "fits exactly"));
}

TEST(MemoryBudget, ZeroMeansUnlimited) {
  MemoryBudget budget;
  ASSERT_TRUE(budget.reserve(UINT64_MAX / 2, "huge"));
  EXPECT_EQ(budget.peak(), UINT64_MAX / 2);
}

TEST(MemoryBudget, OverflowingReserveFails) {
  MemoryBudget budget(UINT64_MAX);
  ASSERT_TRUE(budget.reserve(UINT64_MAX - 1, "a"));
  EXPECT_FALSE(budget.reserve(2, "b"));
}

TEST(MemoryBudget, ThreadSafe) {
  MemoryBudget budget(64);
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (budget.reserve(16, "x"))
          budget.release(16);
        else
          ++refused;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_LE(budget.peak(), 64u);
  EXPECT_GE(budget.peak(), 16u);
}

}  // namespace
}  // namespace llmc
