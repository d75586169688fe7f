// core/model/file_io.cpp
#include "model/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace llmc::model {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_message(std::string_view what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

Status write_at(int fd, uint64_t offset, std::span<const std::byte> data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{errno_message(fmt::format("{}: write failed", path.string()))};
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

uint64_t read_into_page_cache(int fd, uint64_t offset, uint64_t nbytes) {
  constexpr uint64_t kChunk = 1 << 20;
  std::vector<std::byte> buffer(std::min(nbytes, kChunk));
  uint64_t done = 0;
  while (done < nbytes) {
    const ssize_t n = ::pread(fd, buffer.data(), std::min(nbytes - done, kChunk), static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  return done;
}

namespace {

Status copy_buffered(int src_fd, uint64_t src_offset, int dst_fd, uint64_t dst_offset, uint64_t nbytes,
                     const std::filesystem::path& dst_path) {
  constexpr uint64_t kBufferSize = 4 << 20;
  std::vector<std::byte> buffer(std::min(nbytes, kBufferSize));
  while (nbytes > 0) {
    const ssize_t n = ::pread(src_fd, buffer.data(), std::min<uint64_t>(nbytes, buffer.size()),
                              static_cast<off_t>(src_offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{errno_message(fmt::format("{}: reading the source failed", dst_path.string()))};
    }
    if (n == 0) return Error{fmt::format("{}: the source ended {} bytes early", dst_path.string(), nbytes)};
    LLMC_TRY(write_at(dst_fd, dst_offset, std::span(buffer.data(), static_cast<size_t>(n)), dst_path));
    src_offset += static_cast<uint64_t>(n);
    dst_offset += static_cast<uint64_t>(n);
    nbytes -= static_cast<uint64_t>(n);
  }
  return {};
}

}  // namespace

Status copy_range(int src_fd, uint64_t src_offset, int dst_fd, uint64_t dst_offset, uint64_t nbytes,
                  const std::filesystem::path& dst_path) {
  auto src = static_cast<off_t>(src_offset);
  auto dst = static_cast<off_t>(dst_offset);
  while (nbytes > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(nbytes, 1 << 30));
    const ssize_t n = ::copy_file_range(src_fd, &src, dst_fd, &dst, chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Cross-device copies, old kernels and some file systems: copy through user space instead.
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM)
        return copy_buffered(src_fd, static_cast<uint64_t>(src), dst_fd, static_cast<uint64_t>(dst), nbytes,
                             dst_path);
      return Error{errno_message(fmt::format("{}: copy_file_range failed", dst_path.string()))};
    }
    if (n == 0) return Error{fmt::format("{}: the source ended {} bytes early", dst_path.string(), nbytes)};
    nbytes -= static_cast<uint64_t>(n);
  }
  return {};
}

Expected<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  MappedFile file;
  file.fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.fd_) return Error{errno_message(fmt::format("{}: cannot open", path.string()))};
  struct stat st {};
  if (::fstat(file.fd_.get(), &st) != 0) return Error{errno_message(fmt::format("{}: cannot stat", path.string()))};
  if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path.string())};
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ == 0) return file;
  void* base = ::mmap(nullptr, file.size_, PROT_READ, MAP_SHARED, file.fd_.get(), 0);
  if (base == MAP_FAILED) return Error{errno_message(fmt::format("{}: cannot map", path.string()))};
  file.base_ = static_cast<const std::byte*>(base);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : fd_(std::move(other.fd_)), base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this == &other) return *this;
  if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
  fd_ = std::move(other.fd_);
  base_ = std::exchange(other.base_, nullptr);
  size_ = std::exchange(other.size_, 0);
  return *this;
}

MappedFile::~MappedFile() {
  if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
}

}  // namespace llmc::model
