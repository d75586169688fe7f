// tests/unit/model/safetensors_file_test.cpp - reading safetensors, and every malformed file rejected with
// an error that names the file and the tensor.
#include "model/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::safetensors_bytes;
using testing::TempDir;
using testing::write_file;

class SafetensorsFileTest : public ::testing::Test {
 protected:
  std::filesystem::path write(std::string_view bytes) {
    const auto path = dir_.path() / "model.safetensors";
    write_file(path, bytes);
    return path;
  }

  // Opens the bytes, expects failure, and returns the error message.
  std::string open_error(std::string_view bytes) {
    const auto path = write(bytes);
    auto file = SafetensorsFile::open(path);
    EXPECT_FALSE(file.has_value());
    if (file.has_value()) return {};
    EXPECT_THAT(file.error().message, HasSubstr(path.string()));
    return file.error().message;
  }

  TempDir dir_{"safetensors-file"};
};

TEST_F(SafetensorsFileTest, ReadsTensorsInFileOrder) {
  const std::string header =
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"c":{"dtype":"F4","shape":[2,3],"data_offsets":[10,13]}})";
  const auto path = write(safetensors_bytes(header + "  ", "ABCDEFGHIJKLM"));
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const auto& tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].name, "a");
  EXPECT_EQ(tensors[1].name, "b");
  EXPECT_EQ(tensors[2].name, "c");
  EXPECT_EQ(tensors[1].dtype, DType::F32);
  EXPECT_EQ(tensors[1].shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(tensors[1].offset, 8 + header.size() + 2 + 2);
  EXPECT_EQ(tensors[1].nbytes, 8u);
  EXPECT_EQ(tensors[2].numel(), 6u);
  const auto data = (*file)->data(*(*file)->find("b"));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data()), data.size()), "CDEFGHIJ");
  EXPECT_EQ((*file)->find("missing"), nullptr);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ((*file)->path(), path);
  EXPECT_GE((*file)->fd(), 0);
}

// Pages of [offset, offset + bytes) of the file at `path` that the page cache holds.
size_t cached_pages(const std::filesystem::path& path, uint64_t offset, uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  const uint64_t size = std::filesystem::file_size(path);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  ::mincore(map, size, pages.data());
  ::munmap(map, size);
  ::close(fd);
  size_t cached = 0;
  for (uint64_t p = offset / page; p * page < offset + bytes; ++p) cached += pages[p] & 1;
  return cached;
}

TEST_F(SafetensorsFileTest, PrefetchReadsATensorIntoThePageCache) {
  const std::string header = R"({"big":{"dtype":"U8","shape":[4194304],"data_offsets":[0,4194304]}})";
  const auto path = write(safetensors_bytes(header, std::string(4 << 20, 'x')));
  {  // written back and evicted: clean pages leave the cache on POSIX_FADV_DONTNEED
    const int fd = ::open(path.c_str(), O_RDONLY);
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const TensorInfo& big = *(*file)->find("big");
  const size_t pages = (big.nbytes + ::sysconf(_SC_PAGESIZE) - 1) / ::sysconf(_SC_PAGESIZE);
  if (cached_pages(path, big.offset, big.nbytes) > pages / 2) GTEST_SKIP() << "the page cache kept the file";
  (*file)->prefetch(big);
  EXPECT_GE(cached_pages(path, big.offset, big.nbytes), pages);
}

TEST_F(SafetensorsFileTest, ReadsEveryDtype) {
  std::string header = "{";
  std::string data;
  for (int i = 0; i < kDTypeCount; ++i) {
    const auto dtype = static_cast<DType>(i);
    const uint64_t nbytes = *byte_size(dtype, 8);  // 8 elements fill whole bytes for every dtype
    header += fmt::format(R"({}"{}":{{"dtype":"{}","shape":[2,4],"data_offsets":[{},{}]}})", i ? "," : "",
                          name(dtype), name(dtype), data.size(), data.size() + nbytes);
    data += std::string(nbytes, static_cast<char>('a' + i));
  }
  auto file = SafetensorsFile::open(write(safetensors_bytes(header + "}", data)));
  ASSERT_TRUE(file.has_value()) << file.error().message;
  ASSERT_EQ((*file)->tensors().size(), static_cast<size_t>(kDTypeCount));
  for (int i = 0; i < kDTypeCount; ++i) {
    const auto* info = (*file)->find(name(static_cast<DType>(i)));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, static_cast<DType>(i));
    EXPECT_EQ(static_cast<char>((*file)->data(*info)[0]), static_cast<char>('a' + i));
  }
}

TEST_F(SafetensorsFileTest, ReadsAnEmptyFile) {
  auto file = SafetensorsFile::open(write(safetensors_bytes("{}", "")));
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_TRUE((*file)->tensors().empty());
}

TEST_F(SafetensorsFileTest, RejectsMalformedFiles) {
  EXPECT_THAT(open_error("abc"), HasSubstr("too short"));
  EXPECT_THAT(open_error(safetensors_bytes("", "")), HasSubstr("does not start with"));
  EXPECT_THAT(open_error(std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10)), HasSubstr("absurd"));
  EXPECT_THAT(open_error(std::string("\x40\x00\x00\x00\x00\x00\x00\x00{}", 10)), HasSubstr("past the end"));
  EXPECT_THAT(open_error(safetensors_bytes("{\"a\":", "")), HasSubstr("not valid JSON"));
  EXPECT_THAT(open_error(safetensors_bytes("{\"__metadata__\":{\"a\":1}}", "")), HasSubstr("__metadata__"));
}

TEST_F(SafetensorsFileTest, RejectsBadTensorsNamingThem) {
  const auto tensor_error = [&](std::string_view entry, std::string_view data) {
    return open_error(safetensors_bytes(fmt::format(R"({{"w":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}},"x":{}}})",
                                                    entry), data));
  };
  const auto names_x = HasSubstr("tensor 'x'");
  EXPECT_THAT(tensor_error(R"({"dtype":"Q4","shape":[1],"data_offsets":[4,5]})", "wwwwx"),
              AllOf(names_x, HasSubstr("unknown dtype \"Q4\"")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[-1],"data_offsets":[4,5]})", "wwwwx"),
              AllOf(names_x, HasSubstr("non-negative")));
  EXPECT_THAT(tensor_error(R"({"dtype":"F16","shape":[2],"data_offsets":[4,6]})", "wwwwxx"),
              AllOf(names_x, HasSubstr("needs 4 bytes")));
  EXPECT_THAT(tensor_error(R"({"dtype":"F4","shape":[3],"data_offsets":[4,6]})", "wwwwxx"),
              AllOf(names_x, HasSubstr("whole bytes")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[2],"data_offsets":[3,5]})", "wwwwx"),
              AllOf(names_x, HasSubstr("overlaps tensor 'w'")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[1],"data_offsets":[5,6]})", "wwwwhx"),
              AllOf(names_x, HasSubstr("hole")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[4],"data_offsets":[4,8]})", "wwwwxx"),
              AllOf(names_x, HasSubstr("truncated")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[1],"data_offsets":[5,4]})", "wwwwx"),
              AllOf(names_x, HasSubstr("end before")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[1]})", "wwwwx"), AllOf(names_x, HasSubstr("data_offsets")));
  EXPECT_THAT(tensor_error(R"({"dtype":"U8","shape":[1],"data_offsets":[4,5]})", "wwwwxTRAIL"),
              HasSubstr("5 bytes after the end"));
}

}  // namespace
}  // namespace llmc::model
