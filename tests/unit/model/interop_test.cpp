// tests/unit/model/interop_test.cpp - both ways with the Python reference stack: files written by the
// safetensors library read here byte for byte, files written here loaded by safetensors and transformers.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/safetensors_writer.h"
#include "test_support.h"

namespace llmc::model {
namespace {

using testing::TempDir;

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return bytes;
}

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixtures_ = testing::python_fixtures();
    ASSERT_FALSE(fixtures_.empty());
    manifest_ = nlohmann::json::parse(testing::read_file(fixtures_ / "dtypes" / "manifest.json"));
  }
  std::filesystem::path fixtures_;
  nlohmann::json manifest_;
};

TEST_F(InteropTest, ReadsWhatPythonWrote) {
  for (const char* layout : {"single", "sharded"}) {
    auto checkpoint = Checkpoint::open(fixtures_ / "dtypes" / layout);
    ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
    EXPECT_EQ(checkpoint->files().size(), std::string_view(layout) == "single" ? 1u : 2u);
    EXPECT_EQ(checkpoint->tensor_names().size(), manifest_.size());
    for (const auto& [name, expected] : manifest_.items()) {
      const auto ref = checkpoint->tensor(name);
      ASSERT_TRUE(ref.has_value()) << ref.error().message;
      EXPECT_EQ(llmc::name(ref->info->dtype), expected["dtype"].get<std::string>()) << name;
      EXPECT_EQ(ref->info->shape, expected["shape"].get<std::vector<int64_t>>()) << name;
      const auto data = ref->file->data(*ref->info);
      EXPECT_EQ(std::vector<std::byte>(data.begin(), data.end()), from_hex(expected["hex"])) << layout << " " << name;
    }
  }
}

TEST_F(InteropTest, PythonReadsWhatWeWrote) {
  for (const uint64_t max_shard_size : {SafetensorsWriter::kDefaultMaxShardSize, uint64_t{64}}) {
    TempDir dir("interop-write");
    SafetensorsWriter writer(dir.path(), max_shard_size);
    for (const auto& [name, expected] : manifest_.items()) {
      const auto dtype = dtype_from_safetensors(expected["dtype"].get<std::string>());
      ASSERT_TRUE(dtype.has_value());
      ASSERT_TRUE(writer.add(name, *dtype, expected["shape"].get<std::vector<int64_t>>(), from_hex(expected["hex"])));
    }
    auto summary = writer.finish();
    ASSERT_TRUE(summary.has_value()) << summary.error().message;
    EXPECT_EQ(summary->files.size() > 1, max_shard_size == 64);
    EXPECT_EQ(testing::run_python_script("check_interop.py", fmt::format("load '{}' '{}'", dir.path().string(),
                                                                          (fixtures_ / "dtypes" / "manifest.json").string())),
              0);
  }
}

TEST_F(InteropTest, TransformersLoadsACopiedCheckpoint) {
  TempDir dir("interop-copy");
  const auto source = fixtures_ / "models" / "llama";
  const auto copy = dir.path() / "copy";
  const auto status = testing::copy_checkpoint(source, copy, /*max_shard_size=*/100'000);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_TRUE(std::filesystem::exists(copy / "model.safetensors.index.json"));
  EXPECT_TRUE(std::filesystem::exists(copy / "generation_config.json"));
  EXPECT_EQ(testing::run_python_script("check_interop.py",
                                       fmt::format("transformers '{}' '{}'",
                                                   source.string(), copy.string())),
            0);
}

}  // namespace
}  // namespace llmc::model
