// core/model/safetensors_writer.h - streams tensors into the safetensors shards of a model directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "model/background_writes.h"
#include "model/file_io.h"
#include "tensor/dtype.h"
#include "util/expected.h"

namespace llmc::model {

struct WriteSummary {
  std::vector<std::filesystem::path> files;  // the shards in order (model.safetensors when only one)
  uint64_t total_size = 0;                   // bytes of tensor data, as in the index's metadata
  size_t tensor_count = 0;
};

/// Writes tensors as they arrive: each shard reserves a gap for its header at the start, takes the data
/// behind it, and gets its header (padded with spaces, data aligned to 8 bytes) when it closes. A header
/// that outgrows its gap makes the shard be rewritten with a bigger one. A shard closes when the next
/// tensor would take its data past the maximum shard size. Not thread-safe (add_async's writes run on a
/// thread of the writer's own). After an error the writer refuses further calls; its files are left to
/// the caller's OutputDirectory to remove.
class SafetensorsWriter {
 public:
  static constexpr uint64_t kDefaultMaxShardSize = 5'000'000'000;

  /// `dir` must exist. `expected_tensors` (0 when unknown) sizes the header gaps so that they rarely
  /// need to grow.
  explicit SafetensorsWriter(std::filesystem::path dir, uint64_t max_shard_size = kDefaultMaxShardSize,
                             size_t expected_tensors = 0);
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;
  ~SafetensorsWriter();

  /// Fills `chunk` with the tensor's bytes [offset, offset + chunk.size()).
  using ChunkFill = std::function<Status(uint64_t offset, std::span<std::byte> chunk)>;

  Status add(std::string name, DType dtype, std::vector<int64_t> shape, std::span<const std::byte> data);
  /// As add(), but the bytes are written by the writer's thread while the caller goes on; `owner` keeps them
  /// alive until then. At most kMaxQueuedBytes wait (add_async waits for room). A failed write is reported
  /// by a later call or by finish().
  Status add_async(std::string name, DType dtype, std::vector<int64_t> shape, std::span<const std::byte> data,
                   std::shared_ptr<const void> owner);
  static constexpr uint64_t kMaxQueuedBytes = 64 << 20;
  /// Copies the data from `src_fd` in the kernel (copy_file_range), so resident memory stays flat.
  Status add_from_file(std::string name, DType dtype, std::vector<int64_t> shape, int src_fd, uint64_t src_offset,
                       uint64_t nbytes);
  /// Produces the data chunk by chunk through a small buffer (for tensors generated on the fly).
  Status add_generated(std::string name, DType dtype, std::vector<int64_t> shape, const ChunkFill& fill);

  /// Closes the last shard, gives the shards their final names and writes model.safetensors.index.json
  /// when there is more than one.
  Expected<WriteSummary> finish();

  /// How many times a shard was rewritten because its header outgrew the gap.
  size_t rewrites() const { return rewrites_; }

 private:
  struct Shard {
    std::filesystem::path path;  // the temporary name until finish()
    UniqueFd fd;
    uint64_t gap = 0;            // bytes before the data: 8 + the padded header
    uint64_t data_size = 0;
    std::string entries;         // the header's tensor entries so far, each preceded by ','
    std::vector<std::string> names;
  };
  using WriteData = std::function<Status(int fd, uint64_t offset)>;

  Status add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, uint64_t nbytes,
                    const WriteData& write);
  Status open_shard();
  Status grow_gap(uint64_t needed);
  Status close_shard();
  std::string header_text() const;

  std::filesystem::path dir_;
  uint64_t max_shard_size_;
  size_t expected_tensors_;
  std::vector<Shard> shards_;  // closed shards, then the open one
  std::set<std::string, std::less<>> names_;
  uint64_t total_size_ = 0;
  size_t rewrites_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  BackgroundWrites background_{kMaxQueuedBytes};  // last: destroyed (its writes waited for) first
};

}  // namespace llmc::model
