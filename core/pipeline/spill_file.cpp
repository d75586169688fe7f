// core/pipeline/spill_file.cpp
#include "pipeline/spill_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "tensor/format_bytes.h"
#include "util/log.h"

namespace llmc::pipeline {

Expected<std::unique_ptr<SpillFile>> SpillFile::create(const std::filesystem::path& directory, std::string_view prefix,
                                                       uint64_t size) {
  std::string name = (directory / fmt::format("{}XXXXXX", prefix)).string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    return Error{fmt::format("{}: cannot create a spill file in this directory: {}", directory.string(), std::strerror(errno))};
  std::unique_ptr<SpillFile> file(new SpillFile(name, fd));
  if (const int error = size > 0 ? ::posix_fallocate(fd, 0, static_cast<off_t>(size)) : 0; error != 0)
    return Error{fmt::format("{}: cannot reserve {} on disk: {}", name, format_bytes(size), std::strerror(error))};
  return file;
}

SpillFile::~SpillFile() {
  ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (ec) log::warning("{}: cannot remove the spill file: {}", path_.string(), ec.message());
}

Status SpillFile::write(uint64_t offset, std::span<const std::byte> bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Error{fmt::format("{}: cannot write {} bytes at offset {}: {}", path_.string(), bytes.size(), offset,
                               n < 0 ? std::strerror(errno) : "nothing was written")};
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status SpillFile::read(uint64_t offset, std::span<std::byte> bytes) const {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Error{fmt::format("{}: cannot read {} bytes at offset {}: {}", path_.string(), bytes.size(), offset,
                               std::strerror(errno))};
    if (n == 0)
      return Error{fmt::format("{}: short read: {} of {} bytes at offset {} (the file was truncated)", path_.string(),
                               done, bytes.size(), offset)};
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace llmc::pipeline
