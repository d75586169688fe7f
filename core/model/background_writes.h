// core/model/background_writes.h - file writes done by a thread of their own, so that the caller goes on
// computing while the kernel holds a write back (it throttles writers once the page cache holds much dirty
// data: 16 MB pwrites went from 5 ms to 35 ms after the first gigabyte of a 1B model's output).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "util/expected.h"

namespace llmc::model {

class BackgroundWrites {
 public:
  /// One pwrite of `data` at `offset` of `fd`; `owner` keeps the bytes alive until it is done; `what` (the
  /// file and tensor) names it in an error.
  struct Job {
    int fd = -1;
    uint64_t offset = 0;
    std::span<const std::byte> data;
    std::shared_ptr<const void> owner;
    std::filesystem::path path;
    std::string what;
  };

  /// At most `max_queued_bytes` wait to be written (submit() waits for room beyond that).
  explicit BackgroundWrites(uint64_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}
  BackgroundWrites(const BackgroundWrites&) = delete;
  BackgroundWrites& operator=(const BackgroundWrites&) = delete;
  /// Waits for the queued writes.
  ~BackgroundWrites();

  /// Queues the job (its thread starts with the first). Fails, queuing nothing, once a write has failed.
  Status submit(Job job);
  /// Waits until every queued write is done: the first failure, if any.
  Status drain();

 private:
  void run();

  const uint64_t max_queued_bytes_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  uint64_t queued_bytes_ = 0;
  bool writing_ = false;  // the thread holds a job taken off the queue
  Status failure_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace llmc::model
