// core/model/background_writes.cpp
#include "model/background_writes.h"

#include <fcntl.h>

#include <fmt/format.h>

#include "model/file_io.h"

namespace llmc::model {

BackgroundWrites::~BackgroundWrites() {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return queue_.empty() && !writing_; });
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status BackgroundWrites::submit(Job job) {
  std::unique_lock lock(mutex_);
  // room for this job, or an empty queue (a job larger than the bound waits alone), or a failure to report
  changed_.wait(lock, [&] {
    return !failure_ || queue_.empty() || queued_bytes_ + job.data.size() <= max_queued_bytes_;
  });
  if (!failure_) return failure_;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  queued_bytes_ += job.data.size();
  queue_.push_back(std::move(job));
  changed_.notify_all();
  return Status::ok();
}

Status BackgroundWrites::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !writing_; });
  return failure_;
}

void BackgroundWrites::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    Job job = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    const bool skip = !failure_;  // after a failure the rest are dropped: the output is failed anyway
    lock.unlock();
    Status written = skip ? Status::ok() : write_at(job.fd, job.offset, job.data, job.path);
    // Start writing the bytes to the disk now, without waiting: left dirty, they pile up until the kernel
    // throttles every write to the disk's rate (after about 1 GB here).
    if (written) ::sync_file_range(job.fd, static_cast<off64_t>(job.offset), static_cast<off64_t>(job.data.size()),
                                   SYNC_FILE_RANGE_WRITE);
    job.owner.reset();
    lock.lock();
    if (!written && failure_) failure_ = Error{fmt::format("{}: {}", job.what, written.error().message)};
    queued_bytes_ -= job.data.size();
    writing_ = false;
    changed_.notify_all();
  }
}

}  // namespace llmc::model
