// core/tensor/memory_budget.h - the run's memory budget (--memory-budget): every tensor the host or a
// plugin allocates reserves its bytes here first and returns them when freed.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "util/expected.h"

namespace llmc {

/// Thread-safe byte accounting against a limit. A budget must outlive the tensors charged to it.
class MemoryBudget {
 public:
  /// `limit_bytes` = 0: unlimited (still counts in_use and peak).
  explicit MemoryBudget(uint64_t limit_bytes = 0) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  /// Charges `bytes` for `what` (a tensor name, for the message), or fails without charging:
  /// "memory budget of 512.0 MiB exceeded: allocating 'what' (64.0 MiB) with 480.0 MiB in use; ...".
  Status reserve(uint64_t bytes, std::string_view what);
  /// Returns bytes charged by an earlier reserve.
  void release(uint64_t bytes);

  uint64_t limit() const { return limit_; }
  uint64_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> in_use_{0};
  std::atomic<uint64_t> peak_{0};
};

}  // namespace llmc
