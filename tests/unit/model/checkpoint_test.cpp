// tests/unit/model/checkpoint_test.cpp - model directories: single and sharded, and inconsistent ones.
#include "model/checkpoint.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::HasSubstr;
using testing::safetensors_bytes;
using testing::TempDir;
using testing::write_file;

std::string one_tensor_file(std::string_view name) {
  return safetensors_bytes(fmt::format(R"({{"{}":{{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}}})", name), "xy");
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_.path() / "config.json", R"({"model_type": "llama"})");
    write_file(dir_.path() / "a.safetensors", one_tensor_file("model.a.weight"));
    write_file(dir_.path() / "b.safetensors", one_tensor_file("model.b.weight"));
  }
  void write_index(std::string_view weight_map) {
    write_file(dir_.path() / "model.safetensors.index.json",
               fmt::format(R"({{"metadata": {{"total_size": 4}}, "weight_map": {}}})", weight_map));
  }
  std::string open_error() {
    auto checkpoint = Checkpoint::open(dir_.path());
    EXPECT_FALSE(checkpoint.has_value());
    return checkpoint.has_value() ? std::string() : checkpoint.error().message;
  }

  TempDir dir_{"checkpoint"};
};

TEST_F(CheckpointTest, OpensAShardedCheckpoint) {
  write_index(R"({"model.b.weight": "b.safetensors", "model.a.weight": "a.safetensors"})");
  write_file(dir_.path() / "tokenizer.json", "{}");
  write_file(dir_.path() / "chat_template.jinja", "{{ x }}");
  write_file(dir_.path() / "pytorch_model.bin", "");
  write_file(dir_.path() / ".gitattributes", "");
  std::filesystem::create_directory(dir_.path() / "subdir");
  auto checkpoint = Checkpoint::open(dir_.path());
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
  EXPECT_EQ(checkpoint->config()["model_type"], "llama");
  EXPECT_EQ(checkpoint->files().size(), 2u);
  EXPECT_EQ(checkpoint->tensor_names(), (std::vector<std::string>{"model.a.weight", "model.b.weight"}));
  const auto ref = checkpoint->tensor("model.b.weight");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->file->path().filename(), "b.safetensors");
  EXPECT_EQ(ref->info->nbytes, 2u);
  EXPECT_FALSE(checkpoint->find("model.c.weight").has_value());
  EXPECT_THAT(checkpoint->tensor("model.c.weight").error().message, HasSubstr("no tensor 'model.c.weight'"));
  EXPECT_EQ(checkpoint->auxiliary_files(), (std::vector<std::filesystem::path>{
                                               dir_.path() / "chat_template.jinja", dir_.path() / "tokenizer.json"}));
}

TEST_F(CheckpointTest, PrefersTheSingleFile) {
  write_file(dir_.path() / "model.safetensors", one_tensor_file("single.weight"));
  write_index(R"({"nothing": "missing.safetensors"})");
  auto checkpoint = Checkpoint::open(dir_.path());
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;
  EXPECT_EQ(checkpoint->tensor_names(), std::vector<std::string>{"single.weight"});
}

TEST_F(CheckpointTest, RejectsMissingOrMalformedFiles) {
  EXPECT_THAT(open_error(), HasSubstr("neither model.safetensors nor model.safetensors.index.json"));
  write_file(dir_.path() / "model.safetensors", "bad");
  EXPECT_THAT(open_error(), HasSubstr((dir_.path() / "model.safetensors").string()));
  write_file(dir_.path() / "config.json", "{ not json");
  EXPECT_THAT(open_error(), HasSubstr((dir_.path() / "config.json").string() + ": not valid JSON"));
  std::filesystem::remove(dir_.path() / "config.json");
  EXPECT_THAT(open_error(), HasSubstr("config.json: missing"));
  EXPECT_THAT(Checkpoint::open(dir_.path() / "nope").error().message, HasSubstr("not a directory"));
}

TEST_F(CheckpointTest, RejectsAnInconsistentIndex) {
  write_index(R"({"model.a.weight": "a.safetensors", "model.b.weight": "c.safetensors"})");
  EXPECT_THAT(open_error(), HasSubstr("tensor 'model.b.weight' is in " + (dir_.path() / "c.safetensors").string() +
                                      ", which does not exist"));
  write_index(R"({"model.a.weight": "a.safetensors", "model.b.weight": "a.safetensors"})");
  EXPECT_THAT(open_error(), HasSubstr("tensor 'model.b.weight' is mapped to"));
  write_file(dir_.path() / "b.safetensors", one_tensor_file("model.a.weight"));
  write_index(R"({"model.a.weight": "a.safetensors", "x": "b.safetensors"})");
  EXPECT_THAT(open_error(), HasSubstr("tensor 'model.a.weight' is also in"));
  write_index(R"({"model.a.weight": "../a.safetensors"})");
  EXPECT_THAT(open_error(), HasSubstr("outside the directory"));
  write_file(dir_.path() / "model.safetensors.index.json", "[]");
  EXPECT_THAT(open_error(), HasSubstr("not a JSON object"));
}

}  // namespace
}  // namespace llmc::model
