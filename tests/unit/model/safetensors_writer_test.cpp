// tests/unit/model/safetensors_writer_test.cpp - shards, the index, the header gap, and bad input.
#include "model/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/safetensors_file.h"
#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::HasSubstr;
using testing::read_file;
using testing::TempDir;

std::vector<std::byte> pattern(size_t size, int seed) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
  return bytes;
}

std::vector<std::byte> bytes_of(const SafetensorsFile& file, std::string_view name) {
  const auto data = file.data(*file.find(name));
  return {data.begin(), data.end()};
}

TEST(SafetensorsWriterTest, WritesOneShardThatReadsBack) {
  TempDir dir("writer-single");
  SafetensorsWriter writer(dir.path());
  const auto a = pattern(2 * 3 * 2, 1);
  const auto b = pattern(5 * 4, 2);
  ASSERT_TRUE(writer.add("a", DType::BF16, {2, 3}, a));
  ASSERT_TRUE(writer.add("b.weight", DType::F32, {5}, b));
  ASSERT_TRUE(writer.add("empty", DType::F16, {0, 7}, {}));
  auto summary = writer.finish();
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  ASSERT_EQ(summary->files, std::vector<std::filesystem::path>{dir.path() / "model.safetensors"});
  EXPECT_EQ(summary->total_size, a.size() + b.size());
  EXPECT_EQ(summary->tensor_count, 3u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "model.safetensors.index.json"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);

  auto file = SafetensorsFile::open(dir.path() / "model.safetensors");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ(bytes_of(**file, "a"), a);
  EXPECT_EQ(bytes_of(**file, "b.weight"), b);
  EXPECT_EQ((*file)->find("a")->offset % 8, 0u);  // the data starts 8-aligned
  EXPECT_EQ((*file)->find("empty")->shape, (std::vector<int64_t>{0, 7}));
}

TEST(SafetensorsWriterTest, ShardsAndWritesTheIndex) {
  TempDir dir("writer-sharded");
  SafetensorsWriter writer(dir.path(), /*max_shard_size=*/100, /*expected_tensors=*/5);
  std::vector<std::vector<std::byte>> data;
  for (int i = 0; i < 5; ++i) {
    data.push_back(pattern(40, i));
    ASSERT_TRUE(writer.add(fmt::format("t{}", i), DType::U8, {40}, data.back()));
  }
  ASSERT_TRUE(writer.add("big", DType::U8, {300}, pattern(300, 9)));  // larger than a shard: alone in one
  auto summary = writer.finish();
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  ASSERT_EQ(summary->files.size(), 4u);
  EXPECT_EQ(summary->files[0].filename(), "model-00001-of-00004.safetensors");
  EXPECT_EQ(summary->files[3].filename(), "model-00004-of-00004.safetensors");

  const auto index = nlohmann::json::parse(read_file(dir.path() / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 500);
  EXPECT_EQ(index["weight_map"]["t0"], "model-00001-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["t2"], "model-00002-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["big"], "model-00004-of-00004.safetensors");

  testing::write_file(dir.path() / "config.json", "{}");
  auto checkpoint = Checkpoint::open(dir.path());
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
  EXPECT_EQ(checkpoint->tensor_names(), (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "big"}));
  const auto t3 = checkpoint->tensor("t3");
  ASSERT_TRUE(t3.has_value());
  EXPECT_EQ(bytes_of(*t3->file, "t3"), data[3]);
}

TEST(SafetensorsWriterTest, RewritesAShardWhoseHeaderOutgrowsTheGap) {
  TempDir dir("writer-gap");
  SafetensorsWriter writer(dir.path());  // no hint: a small first gap
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    names.push_back(fmt::format("model.layers.{}.a_rather_long_module_name_to_fill_the_header.weight", i));
    ASSERT_TRUE(writer.add(names.back(), DType::F16, {3}, pattern(6, i)));
  }
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_GE(writer.rewrites(), 1u);
  auto file = SafetensorsFile::open(dir.path() / "model.safetensors");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  ASSERT_EQ((*file)->tensors().size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(bytes_of(**file, names[i]), pattern(6, i)) << names[i];
}

TEST(SafetensorsWriterTest, AHintAvoidsRewrites) {
  TempDir dir("writer-hint");
  SafetensorsWriter writer(dir.path(), SafetensorsWriter::kDefaultMaxShardSize, 100);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(writer.add(fmt::format("model.layers.{}.self_attn.q_proj.weight", i), DType::F16, {3}, pattern(6, i)));
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_EQ(writer.rewrites(), 0u);
  EXPECT_LT(std::filesystem::file_size(dir.path() / "model.safetensors"), 100u * 192 + 1024);
}

// Written in the background, interleaved with add(), across shards and a header rewrite: every byte lands.
TEST(SafetensorsWriterTest, WritesInTheBackgroundAcrossShardsAndRewrites) {
  TempDir dir("writer-async");
  SafetensorsWriter writer(dir.path(), /*max_shard_size=*/12000);  // no hint: the gaps grow too
  std::vector<std::string> names;
  for (int i = 0; i < 120; ++i) {
    names.push_back(fmt::format("model.layers.{}.a_rather_long_module_name_to_fill_the_header.weight", i));
    auto bytes = std::make_shared<std::vector<std::byte>>(pattern(100 + i % 50, i));
    const int64_t size = static_cast<int64_t>(bytes->size());
    const Status added = i % 3 == 0 ? writer.add(names.back(), DType::U8, {size}, *bytes)
                                    : writer.add_async(names.back(), DType::U8, {size}, *bytes, bytes);
    ASSERT_TRUE(added) << added.error().message;
  }
  auto summary = writer.finish();
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_GE(writer.rewrites(), 1u);
  EXPECT_GT(summary->files.size(), 1u);
  testing::write_file(dir.path() / "config.json", "{}");
  auto checkpoint = Checkpoint::open(dir.path());
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
  for (int i = 0; i < 120; ++i) {
    const auto ref = checkpoint->tensor(names[i]);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(bytes_of(*ref->file, names[i]), pattern(100 + i % 50, i)) << names[i];
  }
}

TEST(BackgroundWritesTest, AFailedWriteIsReportedAndStopsTheQueue) {
  TempDir dir("background-writes");
  const auto path = dir.path() / "read-only";
  testing::write_file(path, "x");
  const int fd = ::open(path.c_str(), O_RDONLY);  // a pwrite to it fails (EBADF)
  const auto bytes = std::make_shared<std::vector<std::byte>>(pattern(10, 1));
  BackgroundWrites writes(1 << 20);
  ASSERT_TRUE(writes.submit({fd, 0, *bytes, bytes, path, "tensor 'a'"}));
  const Status drained = writes.drain();
  ASSERT_FALSE(drained);
  EXPECT_THAT(drained.error().message, HasSubstr("tensor 'a'"));
  EXPECT_THAT(drained.error().message, HasSubstr(path.string()));
  EXPECT_FALSE(writes.submit({fd, 0, *bytes, bytes, path, "tensor 'b'"}));  // nothing more is queued
  EXPECT_EQ(bytes.use_count(), 1);  // the queue let go of the bytes
  ::close(fd);
}

TEST(SafetensorsWriterTest, CopiesFromAFileAndGeneratesInChunks) {
  TempDir dir("writer-copy");
  const auto source = pattern(1000, 7);
  testing::write_file(dir.path() / "source.bin",
                      std::string_view(reinterpret_cast<const char*>(source.data()), source.size()));
  const int fd = ::open((dir.path() / "source.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const auto out = dir.path() / "out";
  std::filesystem::create_directory(out);
  SafetensorsWriter writer(out);
  ASSERT_TRUE(writer.add_from_file("copied", DType::I16, {50}, fd, 100, 100));
  ASSERT_TRUE(writer.add_generated("generated", DType::U8, {3, 5}, [](uint64_t offset, std::span<std::byte> chunk) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::byte>(offset + i);
    return Status{};
  }));
  ASSERT_TRUE(writer.finish().has_value());
  ::close(fd);
  auto file = SafetensorsFile::open(out / "model.safetensors");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(bytes_of(**file, "copied"), std::vector<std::byte>(source.begin() + 100, source.begin() + 200));
  EXPECT_EQ(bytes_of(**file, "generated")[14], std::byte{14});
}

TEST(SafetensorsWriterTest, RejectsBadTensors) {
  TempDir dir("writer-errors");
  SafetensorsWriter writer(dir.path());
  ASSERT_TRUE(writer.add("a", DType::U8, {2}, pattern(2, 0)));
  auto status = writer.add("a", DType::U8, {2}, pattern(2, 0));
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("tensor 'a': duplicate"));
  status = writer.add("b", DType::F32, {2, 2}, pattern(15, 0));
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("tensor 'b': shape [2, 2] of F32 needs 16 bytes, got 15"));
  status = writer.add("c", DType::U8, {-1}, {});
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("negative"));
  status = writer.add("__metadata__", DType::U8, {0}, {});
  EXPECT_FALSE(status);
  ASSERT_TRUE(writer.add("d", DType::U8, {1}, pattern(1, 0)));  // bad input leaves the writer usable
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_FALSE(writer.add("e", DType::U8, {1}, pattern(1, 0)));
}

TEST(SafetensorsWriterTest, RemovesItsPartialFilesWhenNotFinished) {
  TempDir dir("writer-abandon");
  {
    SafetensorsWriter writer(dir.path());
    ASSERT_TRUE(writer.add("a", DType::U8, {2}, pattern(2, 0)));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace llmc::model
