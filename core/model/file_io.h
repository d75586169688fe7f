// core/model/file_io.h - POSIX file helpers for the model I/O: an owned descriptor, whole writes, and a
// kernel-side range copy.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "util/expected.h"

namespace llmc::model {

/// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset();

 private:
  int fd_ = -1;
};

/// A whole file mapped read-only, with its descriptor kept open (for copy_file_range from it).
class MappedFile {
 public:
  /// Opens, checks it is a regular file, and maps it (an empty file maps nothing).
  static Expected<MappedFile> open(const std::filesystem::path& path);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return base_; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  const std::byte* base_ = nullptr;
  uint64_t size_ = 0;
};

/// "<what>: <strerror(errno)>" for the current errno.
std::string errno_message(std::string_view what);

/// Writes all of `data` at `offset` of `fd`; `path` names the file in errors.
Status write_at(int fd, uint64_t offset, std::span<const std::byte> data, const std::filesystem::path& path);

/// Reads `nbytes` of `fd` at `offset` into the page cache, 1 MiB per pread into a buffer of that size (the
/// bytes are dropped: nothing is mapped). Returns how many were read (fewer at an error or the file's end).
uint64_t read_into_page_cache(int fd, uint64_t offset, uint64_t nbytes);

/// Copies `nbytes` from `src_fd` at `src_offset` to `dst_fd` at `dst_offset` with copy_file_range (no
/// user-space buffer), falling back to pread/pwrite through a small buffer where the kernel refuses.
Status copy_range(int src_fd, uint64_t src_offset, int dst_fd, uint64_t dst_offset, uint64_t nbytes,
                  const std::filesystem::path& dst_path);

}  // namespace llmc::model
