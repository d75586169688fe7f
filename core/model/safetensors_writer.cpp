// core/model/safetensors_writer.cpp
#include "model/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace llmc::model {
namespace {

constexpr std::string_view kHeaderStart = R"({"__metadata__":{"format":"pt"})";
constexpr uint64_t kGapWithoutHint = 4096;
constexpr uint64_t kEntryEstimate = 192;  // bytes of header per tensor: a long name plus dtype, shape, offsets
constexpr uint64_t kChunkSize = 8 << 20;

uint64_t round_up8(uint64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

SafetensorsWriter::SafetensorsWriter(std::filesystem::path dir, uint64_t max_shard_size, size_t expected_tensors)
    : dir_(std::move(dir)), max_shard_size_(max_shard_size), expected_tensors_(expected_tensors) {}

SafetensorsWriter::~SafetensorsWriter() {
  if (finished_) return;
  (void)background_.drain();  // no write may land in a file removed below
  std::error_code ec;
  for (Shard& shard : shards_) {
    shard.fd.reset();
    std::filesystem::remove(shard.path, ec);
  }
}

Status SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape,
                              std::span<const std::byte> data) {
  return add_tensor(std::move(name), dtype, std::move(shape), data.size(), [&](int fd, uint64_t offset) {
    return write_at(fd, offset, data, shards_.back().path);
  });
}

Status SafetensorsWriter::add_async(std::string name, DType dtype, std::vector<int64_t> shape,
                                    std::span<const std::byte> data, std::shared_ptr<const void> owner) {
  std::string what = fmt::format("{}: tensor '{}'", dir_.string(), name);
  return add_tensor(std::move(name), dtype, std::move(shape), data.size(), [&](int fd, uint64_t offset) {
    return background_.submit({fd, offset, data, std::move(owner), shards_.back().path, std::move(what)});
  });
}

Status SafetensorsWriter::add_from_file(std::string name, DType dtype, std::vector<int64_t> shape, int src_fd,
                                        uint64_t src_offset, uint64_t nbytes) {
  return add_tensor(std::move(name), dtype, std::move(shape), nbytes, [&](int fd, uint64_t offset) {
    return copy_range(src_fd, src_offset, fd, offset, nbytes, shards_.back().path);
  });
}

Status SafetensorsWriter::add_generated(std::string name, DType dtype, std::vector<int64_t> shape,
                                        const ChunkFill& fill) {
  uint64_t numel = 1;
  for (const int64_t dim : shape) numel *= static_cast<uint64_t>(std::max<int64_t>(dim, 0));
  const uint64_t nbytes = byte_size(dtype, numel).value_or(0);
  return add_tensor(std::move(name), dtype, std::move(shape), nbytes, [&](int fd, uint64_t offset) -> Status {
    std::vector<std::byte> buffer(std::min(nbytes, kChunkSize));
    for (uint64_t done = 0; done < nbytes; done += buffer.size()) {
      const auto chunk = std::span(buffer).first(std::min<uint64_t>(buffer.size(), nbytes - done));
      LLMC_TRY(fill(done, chunk));
      LLMC_TRY(write_at(fd, offset + done, chunk, shards_.back().path));
    }
    return {};
  });
}

Status SafetensorsWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, uint64_t nbytes,
                                     const WriteData& write) {
  const std::string context = fmt::format("{}: tensor '{}'", dir_.string(), name);
  if (finished_) return Error{fmt::format("{}: the writer is already finished", context)};
  if (failed_) return Error{fmt::format("{}: the writer failed before", context)};
  if (name.empty() || name == "__metadata__") return Error{fmt::format("{}: invalid tensor name", context)};
  if (names_.contains(name)) return Error{fmt::format("{}: duplicate tensor name", context)};
  uint64_t numel = 1;
  for (const int64_t dim : shape) {
    if (dim < 0) return Error{fmt::format("{}: negative dimension in shape [{}]", context, fmt::join(shape, ", "))};
    numel *= static_cast<uint64_t>(dim);
  }
  const auto expected = byte_size(dtype, numel);
  if (!expected)
    return Error{fmt::format("{}: {} elements of {} do not fill whole bytes", context, numel, llmc::name(dtype))};
  if (*expected != nbytes)
    return Error{fmt::format("{}: shape [{}] of {} needs {} bytes, got {}", context, fmt::join(shape, ", "),
                             llmc::name(dtype), *expected, nbytes)};

  failed_ = true;  // until the tensor is in
  if (shards_.empty() || (shards_.back().data_size > 0 && shards_.back().data_size + nbytes > max_shard_size_)) {
    if (!shards_.empty()) LLMC_TRY(close_shard());
    LLMC_TRY(open_shard());
  }
  Shard& shard = shards_.back();
  const std::string entry =
      fmt::format(R"(,{}:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", nlohmann::json(name).dump(),
                  llmc::name(dtype), fmt::join(shape, ","), shard.data_size, shard.data_size + nbytes);
  const uint64_t needed = 8 + kHeaderStart.size() + shard.entries.size() + entry.size() + 1;
  if (needed > shard.gap) LLMC_TRY(grow_gap(needed));
  LLMC_TRY(write(shard.fd.get(), shard.gap + shard.data_size));
  shard.entries += entry;
  shard.data_size += nbytes;
  shard.names.push_back(name);
  names_.insert(std::move(name));
  total_size_ += nbytes;
  failed_ = false;
  return {};
}

Status SafetensorsWriter::open_shard() {
  Shard shard;
  shard.path = dir_ / fmt::format(".llmc-shard-{:05}.safetensors.partial", shards_.size() + 1);
  const uint64_t remaining = expected_tensors_ > names_.size() ? expected_tensors_ - names_.size() : 0;
  shard.gap = remaining > 0 ? round_up8(8 + kHeaderStart.size() + 1 + remaining * kEntryEstimate) : kGapWithoutHint;
  shard.fd = UniqueFd(::open(shard.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!shard.fd) return Error{errno_message(fmt::format("{}: cannot create", shard.path.string()))};
  shards_.push_back(std::move(shard));
  return {};
}

Status SafetensorsWriter::grow_gap(uint64_t needed) {
  LLMC_TRY(background_.drain());  // the copy below takes every byte written so far
  Shard& shard = shards_.back();
  const uint64_t gap = round_up8(std::max(2 * shard.gap, needed + needed / 2));
  auto path = shard.path;
  path += ".regap";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Error{errno_message(fmt::format("{}: cannot create", path.string()))};
  const Status copied = copy_range(shard.fd.get(), shard.gap, fd.get(), gap, shard.data_size, path);
  std::error_code ec;
  if (!copied) {
    std::filesystem::remove(path, ec);
    return copied;
  }
  std::filesystem::rename(path, shard.path, ec);
  if (ec) return Error{fmt::format("{}: cannot rename to {}: {}", path.string(), shard.path.string(), ec.message())};
  shard.fd = std::move(fd);
  shard.gap = gap;
  ++rewrites_;
  return {};
}

std::string SafetensorsWriter::header_text() const {
  return fmt::format("{}{}}}", kHeaderStart, shards_.back().entries);
}

Status SafetensorsWriter::close_shard() {
  LLMC_TRY(background_.drain());  // the shard's data is all in before its header and close
  Shard& shard = shards_.back();
  std::string header = header_text();
  header.resize(shard.gap - 8, ' ');
  std::array<std::byte, 8> length{};
  for (size_t i = 0; i < 8; ++i) length[i] = static_cast<std::byte>(((shard.gap - 8) >> (8 * i)) & 0xff);
  LLMC_TRY(write_at(shard.fd.get(), 0, length, shard.path));
  LLMC_TRY(write_at(shard.fd.get(), 8, std::as_bytes(std::span(header)), shard.path));
  if (::close(shard.fd.release()) != 0) return Error{errno_message(fmt::format("{}: close failed", shard.path.string()))};
  return {};
}

Expected<WriteSummary> SafetensorsWriter::finish() {
  if (finished_ || failed_) return Error{fmt::format("{}: the writer is finished or failed", dir_.string())};
  failed_ = true;
  if (shards_.empty()) LLMC_TRY(open_shard());
  LLMC_TRY(close_shard());

  WriteSummary summary;
  summary.total_size = total_size_;
  summary.tensor_count = names_.size();
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards_.size(); ++i) {
    const std::string file = shards_.size() == 1
                                 ? std::string("model.safetensors")
                                 : fmt::format("model-{:05}-of-{:05}.safetensors", i + 1, shards_.size());
    std::error_code ec;
    std::filesystem::rename(shards_[i].path, dir_ / file, ec);
    if (ec) return Error{fmt::format("{}: cannot rename to {}: {}", shards_[i].path.string(), file, ec.message())};
    shards_[i].path = dir_ / file;
    summary.files.push_back(dir_ / file);
    for (const std::string& name : shards_[i].names) weight_map[name] = file;
  }
  if (shards_.size() > 1) {
    nlohmann::ordered_json index;
    index["metadata"]["total_size"] = total_size_;
    index["weight_map"] = weight_map;  // nlohmann::json keeps keys sorted, as transformers writes them
    const std::string text = index.dump(2) + "\n";
    const auto path = dir_ / "model.safetensors.index.json";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return Error{errno_message(fmt::format("{}: cannot create", path.string()))};
    LLMC_TRY(write_at(fd.get(), 0, std::as_bytes(std::span(text)), path));
  }
  failed_ = false;
  finished_ = true;
  return summary;
}

}  // namespace llmc::model
