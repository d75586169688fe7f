// core/model/gguf_file.cpp
#include "model/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace llmc::model {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr uint64_t kHeaderSize = 24;      // magic, version, tensor count, key/value count

// Bounds-checked little-endian reads from the mapping; every error names the file and `context`.
class Reader {
 public:
  Reader(const std::byte* base, uint64_t size, const std::string& file) : base_(base), size_(size), file_(file) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <class T>
  Expected<T> read(std::string_view context) {
    if (remaining() < sizeof(T)) return truncated(context);
    T value;
    std::memcpy(&value, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Expected<std::string> read_string(std::string_view context) {
    auto length = read<uint64_t>(context);
    if (!length) return length.error();
    if (remaining() < *length) return truncated(context);
    std::string text(reinterpret_cast<const char*>(base_ + pos_), *length);
    pos_ += *length;
    return text;
  }

  Error truncated(std::string_view context) const {
    return Error{fmt::format("{}: {} at byte {} runs past the end of the file ({} bytes): truncated?", file_,
                             context, pos_, size_)};
  }

 private:
  const std::byte* base_;
  uint64_t size_;
  const std::string& file_;
  uint64_t pos_ = 0;
};

Expected<GgufValue> read_value(Reader& reader, uint32_t type, bool in_array, const std::string& context) {
  const auto value_type = static_cast<GgufValueType>(type);
  switch (value_type) {
#define LLMC_GGUF_SCALAR(TYPE, CTYPE, STORED)                                  \
  case GgufValueType::TYPE: {                                                  \
    auto raw = reader.read<CTYPE>(context);                                    \
    if (!raw) return raw.error();                                              \
    return GgufValue{value_type, static_cast<STORED>(*raw)};                   \
  }
    LLMC_GGUF_SCALAR(UINT8, uint8_t, uint64_t)
    LLMC_GGUF_SCALAR(INT8, int8_t, int64_t)
    LLMC_GGUF_SCALAR(UINT16, uint16_t, uint64_t)
    LLMC_GGUF_SCALAR(INT16, int16_t, int64_t)
    LLMC_GGUF_SCALAR(UINT32, uint32_t, uint64_t)
    LLMC_GGUF_SCALAR(INT32, int32_t, int64_t)
    LLMC_GGUF_SCALAR(UINT64, uint64_t, uint64_t)
    LLMC_GGUF_SCALAR(INT64, int64_t, int64_t)
    LLMC_GGUF_SCALAR(FLOAT32, float, double)
    LLMC_GGUF_SCALAR(FLOAT64, double, double)
#undef LLMC_GGUF_SCALAR
    case GgufValueType::BOOL: {
      auto raw = reader.read<uint8_t>(context);
      if (!raw) return raw.error();
      if (*raw > 1) return Error{fmt::format("{}: bool value {} is neither 0 nor 1", context, *raw)};
      return GgufValue{value_type, *raw == 1};
    }
    case GgufValueType::STRING: {
      auto text = reader.read_string(context);
      if (!text) return text.error();
      return GgufValue{value_type, std::move(*text)};
    }
    case GgufValueType::ARRAY: {
      if (in_array) return Error{fmt::format("{}: arrays of arrays are not supported", context)};
      auto element_type = reader.read<uint32_t>(context);
      if (!element_type) return element_type.error();
      auto count = reader.read<uint64_t>(context);
      if (!count) return count.error();
      if (*count > reader.remaining()) return reader.truncated(context);  // every element takes a byte or more
      std::vector<GgufValue> elements;
      elements.reserve(*count);
      for (uint64_t i = 0; i < *count; ++i) {
        auto element = read_value(reader, *element_type, true, context);
        if (!element) return element.error();
        elements.push_back(std::move(*element));
      }
      GgufValue array{value_type, std::move(elements)};
      array.element_type = static_cast<GgufValueType>(*element_type);
      return array;
    }
  }
  return Error{fmt::format("{}: unknown value type {}", context, type)};
}

}  // namespace

std::optional<int64_t> GgufValue::as_int() const {
  if (const auto* v = std::get_if<int64_t>(&value)) return *v;
  if (const auto* v = std::get_if<uint64_t>(&value); v && *v <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(*v);
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (const auto* v = std::get_if<double>(&value)) return *v;
  if (const auto* v = std::get_if<int64_t>(&value)) return static_cast<double>(*v);
  if (const auto* v = std::get_if<uint64_t>(&value)) return static_cast<double>(*v);
  return std::nullopt;
}

uint64_t GgufTensorInfo::numel() const {
  uint64_t count = 1;
  for (const int64_t dim : shape) count *= static_cast<uint64_t>(dim);
  return count;
}

Expected<std::unique_ptr<GgufFile>> GgufFile::open(const std::filesystem::path& path) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  file->mapped_ = std::move(*mapped);
  if (file->mapped_.size() < kHeaderSize)
    return Error{fmt::format("{}: {} bytes is too short for a GGUF file (the header alone takes {}): truncated?",
                             path.string(), file->mapped_.size(), kHeaderSize)};
  LLMC_TRY(file->parse());
  return file;
}


Status GgufFile::parse() {
  const std::string file = path_.string();
  Reader reader(mapped_.data(), mapped_.size(), file);
  const auto magic = reader.read<uint32_t>("the magic");
  if (*magic != kMagic) return Error{fmt::format("{}: bad magic 0x{:08x}: not a GGUF file", file, *magic)};
  version_ = *reader.read<uint32_t>("the version");
  if (version_ != 2 && version_ != 3)
    return Error{fmt::format("{}: unsupported GGUF version {} (llmc reads versions 2 and 3)", file, version_)};
  const uint64_t tensor_count = *reader.read<uint64_t>("the tensor count");
  const uint64_t kv_count = *reader.read<uint64_t>("the key/value count");

  for (uint64_t i = 0; i < kv_count; ++i) {
    auto key = reader.read_string(fmt::format("key/value {}", i));
    if (!key) return key.error();
    const std::string context = fmt::format("{}: key '{}'", file, *key);
    auto type = reader.read<uint32_t>(context);
    if (!type) return type.error();
    auto value = read_value(reader, *type, false, context);
    if (!value) return value.error();
    if (!metadata_.emplace(*key, std::move(*value)).second)
      return Error{fmt::format("{}: the key appears twice", context)};
  }
  if (const GgufValue* alignment = find_metadata("general.alignment")) {
    if (alignment->type != GgufValueType::UINT32)
      return Error{fmt::format("{}: key 'general.alignment' is not a uint32", file)};
    alignment_ = static_cast<uint32_t>(std::get<uint64_t>(alignment->value));
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
      return Error{fmt::format("{}: key 'general.alignment' = {} is not a power of two", file, alignment_)};
  }

  // Each tensor info takes 8 + 4 + 4 + 8 bytes or more: bound the count before reserving.
  if (tensor_count > reader.remaining() / 24) return reader.truncated(fmt::format("{} tensor infos", tensor_count));
  tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    auto name = reader.read_string(fmt::format("tensor info {}", i));
    if (!name) return name.error();
    const std::string context = fmt::format("{}: tensor '{}'", file, *name);
    auto n_dims = reader.read<uint32_t>(context);
    if (!n_dims) return n_dims.error();
    if (*n_dims > kMaxDims) return Error{fmt::format("{}: {} dimensions (at most {})", context, *n_dims, kMaxDims)};
    GgufTensorInfo info{*name, GgmlType::F32, std::vector<int64_t>(*n_dims), 0, 0};
    uint64_t numel = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = reader.read<uint64_t>(context);
      if (!dim) return dim.error();
      overflow |= *dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, *dim, &numel);
      info.shape[*n_dims - 1 - d] = static_cast<int64_t>(*dim);
    }
    if (overflow) return Error{fmt::format("{}: the element count of the shape overflows", context)};
    auto type = reader.read<uint32_t>(context);
    if (!type) return type.error();
    const GgmlTypeTraits* traits = ggml_type_traits(*type);
    if (!traits) return Error{fmt::format("{}: unknown ggml type {}", context, *type)};
    info.type = traits->type;
    const uint64_t row = info.shape.empty() ? 1 : static_cast<uint64_t>(info.shape.back());
    if (row % traits->block_size != 0)
      return Error{fmt::format("{}: rows of {} elements do not fill whole {} blocks of {}", context, row,
                               traits->name, traits->block_size)};
    if (__builtin_mul_overflow(numel / traits->block_size, uint64_t{traits->type_size}, &info.nbytes))
      return Error{fmt::format("{}: the byte size of the shape overflows", context)};
    auto offset = reader.read<uint64_t>(context);
    if (!offset) return offset.error();
    if (*offset % alignment_ != 0)
      return Error{fmt::format("{}: data offset {} is not a multiple of the alignment {}", context, *offset, alignment_)};
    info.offset = *offset;  // relative to the data section until its start is known
    if (!index_.emplace(info.name, tensors_.size()).second)
      return Error{fmt::format("{}: the tensor name appears twice", context)};
    tensors_.push_back(std::move(info));
  }

  const uint64_t data_start = (reader.position() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t data_size = mapped_.size() > data_start ? mapped_.size() - data_start : 0;
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (const GgufTensorInfo& info : tensors_) {
    if (info.offset > data_size || info.nbytes > data_size - info.offset)
      return Error{fmt::format("{}: tensor '{}': data [{}, {}) lies outside the data section ({} bytes): "
                               "truncated?", file, info.name, info.offset, info.offset + info.nbytes, data_size)};
    by_offset.push_back(&info);
  }
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->nbytes)
      return Error{fmt::format("{}: tensor '{}': data at {} overlaps tensor '{}'", file, by_offset[i]->name,
                               by_offset[i]->offset, by_offset[i - 1]->name)};
  for (GgufTensorInfo& info : tensors_) info.offset += data_start;
  return {};
}

const GgufValue* GgufFile::find_metadata(std::string_view key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> GgufFile::data(const GgufTensorInfo& info) const {
  return {mapped_.data() + info.offset, static_cast<size_t>(info.nbytes)};
}

Expected<std::vector<float>> GgufFile::dequantize(const GgufTensorInfo& info) const {
  std::vector<float> values(info.numel());
  const Status status = model::dequantize(info.type, data(info), values);
  if (!status) return Error{fmt::format("{}: tensor '{}': {}", path_.string(), info.name, status.error().message)};
  return values;
}

}  // namespace llmc::model
