// core/tensor/memory_budget.cpp
#include "tensor/memory_budget.h"

#include <fmt/format.h>

#include <cassert>

#include "tensor/format_bytes.h"

namespace llmc {

Status MemoryBudget::reserve(uint64_t bytes, std::string_view what) {
  uint64_t used = in_use_.load(std::memory_order_relaxed);
  uint64_t next;
  do {
    next = used + bytes;
    if (limit_ != 0 && (next > limit_ || next < used))
      return Error{
          fmt::format("memory budget of {} exceeded: allocating '{}' ({}) with {} in use; "
                      "raise --memory-budget",
                      format_bytes(limit_), what, format_bytes(bytes), format_bytes(used)),
          /*out_of_memory=*/true};
  } while (!in_use_.compare_exchange_weak(used, next, std::memory_order_relaxed));
  uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (next > peak && !peak_.compare_exchange_weak(peak, next, std::memory_order_relaxed)) {
  }
  return Status::ok();
}

void MemoryBudget::release(uint64_t bytes) {
  [[maybe_unused]] const uint64_t before = in_use_.fetch_sub(bytes, std::memory_order_relaxed);
  assert(before >= bytes && "released more than reserved");
}

}  // namespace llmc
