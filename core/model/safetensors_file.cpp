// core/model/safetensors_file.cpp
#include "model/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace llmc::model {
namespace {

using Json = nlohmann::ordered_json;

// A tensor as declared in the header, before the layout checks.
struct Declared {
  TensorInfo info;
  uint64_t begin;  // data_offsets, relative to the data buffer
  uint64_t end;
};

Expected<uint64_t> read_unsigned(const Json& value, std::string_view what, const std::string& context) {
  if (!value.is_number_unsigned())
    return Error{fmt::format("{}: {} must be a non-negative integer, got {}", context, what, value.dump())};
  return value.get<uint64_t>();
}

Expected<Declared> parse_tensor(const std::string& name, const Json& entry, const std::string& context) {
  if (!entry.is_object()) return Error{fmt::format("{}: the entry is not a JSON object", context)};
  const auto dtype_it = entry.find("dtype");
  const auto shape_it = entry.find("shape");
  const auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || shape_it == entry.end() || offsets_it == entry.end())
    return Error{fmt::format("{}: the entry needs \"dtype\", \"shape\" and \"data_offsets\"", context)};
  if (!dtype_it->is_string()) return Error{fmt::format("{}: \"dtype\" is not a string", context)};
  const auto dtype = dtype_from_safetensors(dtype_it->get<std::string>());
  if (!dtype) return Error{fmt::format("{}: unknown dtype \"{}\"", context, dtype_it->get<std::string>())};
  if (!shape_it->is_array()) return Error{fmt::format("{}: \"shape\" is not an array", context)};
  if (!offsets_it->is_array() || offsets_it->size() != 2)
    return Error{fmt::format("{}: \"data_offsets\" is not an array of two offsets", context)};

  Declared declared{TensorInfo{name, *dtype, {}, 0, 0}, 0, 0};
  uint64_t numel = 1;
  bool overflow = false;
  for (const Json& dim : *shape_it) {
    auto size = read_unsigned(dim, "every dimension of \"shape\"", context);
    if (!size) return size.error();
    overflow |= *size > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, *size, &numel);
    declared.info.shape.push_back(static_cast<int64_t>(*size));
  }
  if (overflow || numel > UINT64_MAX / 64)
    return Error{fmt::format("{}: the element count of the shape overflows", context)};
  auto begin = read_unsigned((*offsets_it)[0], "\"data_offsets\"", context);
  if (!begin) return begin.error();
  auto end = read_unsigned((*offsets_it)[1], "\"data_offsets\"", context);
  if (!end) return end.error();
  if (*end < *begin) return Error{fmt::format("{}: data_offsets [{}, {}] end before they begin", context, *begin, *end)};
  const auto nbytes = byte_size(*dtype, numel);
  if (!nbytes)
    return Error{fmt::format("{}: {} elements of {} do not fill whole bytes", context, numel, llmc::name(*dtype))};
  if (*nbytes != *end - *begin)
    return Error{fmt::format("{}: {} x {} needs {} bytes but data_offsets [{}, {}] hold {}", context,
                             fmt::join(declared.info.shape, "x"), llmc::name(*dtype), *nbytes, *begin, *end,
                             *end - *begin)};
  declared.info.nbytes = *nbytes;
  declared.begin = *begin;
  declared.end = *end;
  return declared;
}

}  // namespace

uint64_t TensorInfo::numel() const {
  uint64_t count = 1;
  for (const int64_t dim : shape) count *= static_cast<uint64_t>(dim);
  return count;
}

Expected<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::filesystem::path& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  file->mapped_ = std::move(*mapped);
  if (file->mapped_.size() < 8)
    return Error{fmt::format("{}: {} bytes is too short for a safetensors file (the header length alone "
                             "takes 8)", path.string(), file->mapped_.size())};

  uint64_t header_size = 0;
  const std::byte* bytes = file->mapped_.data();
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | std::to_integer<uint64_t>(bytes[i]);
  if (header_size > kMaxHeaderSize)
    return Error{fmt::format("{}: header length {} is absurd (more than {} bytes): not a safetensors file?",
                             path.string(), header_size, kMaxHeaderSize)};
  if (8 + header_size > file->mapped_.size())
    return Error{fmt::format("{}: header length {} runs past the end of the file ({} bytes): truncated?",
                             path.string(), header_size, file->mapped_.size())};
  LLMC_TRY(file->parse_header(header_size));
  return file;
}


Status SafetensorsFile::parse_header(uint64_t header_size) {
  const std::string file = path_.string();
  const auto* text = reinterpret_cast<const char*>(mapped_.data() + 8);
  if (header_size == 0 || text[0] != '{')
    return Error{fmt::format("{}: the header does not start with '{{': not a safetensors file?", file)};
  const Json header = Json::parse(text, text + header_size, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return Error{fmt::format("{}: the header is not valid JSON", file)};
  if (!header.is_object()) return Error{fmt::format("{}: the header is not a JSON object", file)};

  std::vector<Declared> declared;
  declared.reserve(header.size());
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return Error{fmt::format("{}: __metadata__ is not a JSON object", file)};
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string())
          return Error{fmt::format("{}: __metadata__ value of \"{}\" is not a string", file, meta_key)};
        metadata_[meta_key] = meta_value.get<std::string>();
      }
      continue;
    }
    auto tensor = parse_tensor(key, value, fmt::format("{}: tensor '{}'", file, key));
    if (!tensor) return tensor.error();
    declared.push_back(std::move(*tensor));
  }

  std::stable_sort(declared.begin(), declared.end(), [](const Declared& a, const Declared& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = mapped_.size() - data_start;
  uint64_t expected = 0;
  const std::string* previous = nullptr;
  for (const Declared& tensor : declared) {
    const std::string context = fmt::format("{}: tensor '{}'", file, tensor.info.name);
    if (tensor.begin < expected)
      return Error{fmt::format("{}: data [{}, {}) overlaps tensor '{}'", context, tensor.begin, tensor.end, *previous)};
    if (tensor.begin > expected)
      return Error{fmt::format("{}: data starts at {} but the previous tensor ends at {}: the data buffer has a "
                               "hole", context, tensor.begin, expected)};
    if (tensor.end > data_size)
      return Error{fmt::format("{}: data [{}, {}) runs past the end of the file ({} data bytes): truncated?",
                               context, tensor.begin, tensor.end, data_size)};
    expected = tensor.end;
    previous = &tensor.info.name;
  }
  if (expected != data_size)
    return Error{fmt::format("{}: {} bytes after the end of the last tensor's data", file, data_size - expected)};

  tensors_.reserve(declared.size());
  for (Declared& tensor : declared) {
    tensor.info.offset = data_start + tensor.begin;
    index_.emplace(tensor.info.name, tensors_.size());
    tensors_.push_back(std::move(tensor.info));
  }
  return {};
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& info) const {
  return {mapped_.data() + info.offset, static_cast<size_t>(info.nbytes)};
}

void SafetensorsFile::prefetch(const TensorInfo& info) const {
  // madvise(MADV_WILLNEED) would read at most the readahead window (128 KiB here), so read it all; a hint
  // only: data() reads (and reports) what this could not
  (void)read_into_page_cache(fd(), info.offset, info.nbytes);
}

void SafetensorsFile::release(const TensorInfo& info) const {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(mapped_.data()) + info.offset + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(mapped_.data()) + info.offset + info.nbytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace llmc::model
