// tests/unit/model/output_directory_test.cpp - outputs appear whole or not at all.
#include "model/output_directory.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::HasSubstr;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

size_t entries(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(OutputDirectoryTest, CommitsIntoPlace) {
  TempDir parent("output-commit");
  const auto final_path = parent.path() / "nested" / "out";
  auto output = OutputDirectory::create(final_path, /*overwrite=*/false);
  ASSERT_TRUE(output.has_value()) << output.error().message;
  EXPECT_EQ(output->path().parent_path(), final_path.parent_path());
  EXPECT_THAT(output->path().filename().string(), HasSubstr(".out.tmp-"));
  write_file(output->path() / "model.safetensors", "data");
  EXPECT_FALSE(std::filesystem::exists(final_path));
  ASSERT_TRUE(output->commit());
  EXPECT_EQ(output->path(), final_path);
  EXPECT_EQ(read_file(final_path / "model.safetensors"), "data");
  EXPECT_EQ(entries(final_path.parent_path()), 1u);
  EXPECT_FALSE(output->commit());
}

TEST(OutputDirectoryTest, RemovesTheTemporaryDirectoryOnFailure) {
  TempDir parent("output-failure");
  {
    auto output = OutputDirectory::create(parent.path() / "out", false);
    ASSERT_TRUE(output.has_value());
    write_file(output->path() / "half-written.safetensors", "x");
    OutputDirectory moved = std::move(*output);  // ownership moves with the object
    EXPECT_EQ(moved.final_path(), parent.path() / "out");
    EXPECT_EQ(entries(parent.path()), 1u);
  }
  EXPECT_EQ(entries(parent.path()), 0u);
}

TEST(OutputDirectoryTest, FindsTheLeftoversOfRunsWhoseProcessIsGone) {
  TempDir parent("output-leftovers");
  const auto final_path = parent.path() / "out";
  // pid_max is at most 2^22 on Linux: no process has a larger number
  const auto gone = parent.path() / ".out.tmp-99999999-00000000deadbeef";
  const auto alive = parent.path() / fmt::format(".out.tmp-{}-00000000deadbeef", ::getpid());
  for (const auto& dir : {gone, alive, parent.path() / ".other.tmp-99999999-0", parent.path() / ".out.tmp-x-0"})
    std::filesystem::create_directory(dir);
  EXPECT_EQ(interrupted_run_leftovers(final_path), std::vector<std::filesystem::path>{gone});
  auto output = OutputDirectory::create(final_path, false);  // warns, and leaves them be
  ASSERT_TRUE(output.has_value());
  EXPECT_TRUE(std::filesystem::exists(gone));
  EXPECT_TRUE(std::filesystem::exists(alive));
}

TEST(OutputDirectoryTest, OverwritesOnlyWhenAsked) {
  TempDir parent("output-overwrite");
  const auto final_path = parent.path() / "out";
  std::filesystem::create_directory(final_path);
  write_file(final_path / "old.txt", "old");
  auto refused = OutputDirectory::create(final_path, false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("--overwrite"));
  EXPECT_THAT(refused.error().message, HasSubstr(final_path.string()));

  auto output = OutputDirectory::create(final_path, true);
  ASSERT_TRUE(output.has_value());
  EXPECT_TRUE(std::filesystem::exists(final_path / "old.txt"));  // untouched until commit
  write_file(output->path() / "new.txt", "new");
  ASSERT_TRUE(output->commit());
  EXPECT_FALSE(std::filesystem::exists(final_path / "old.txt"));
  EXPECT_EQ(read_file(final_path / "new.txt"), "new");
  EXPECT_EQ(entries(parent.path()), 1u);  // the old output is gone, not left aside
}

TEST(OutputDirectoryTest, WritesConfigAndCopiesAuxiliaryFiles) {
  TempDir source("output-aux-source");
  write_file(source.path() / "config.json", R"({"b": 1, "a": [1, 2]})");
  write_file(source.path() / "model.safetensors", testing::safetensors_bytes("{}", ""));
  write_file(source.path() / "tokenizer.json", "tokens");
  write_file(source.path() / "generation_config.json", "{}");
  auto checkpoint = Checkpoint::open(source.path());
  ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().message;

  TempDir out("output-aux");
  ASSERT_TRUE(copy_auxiliary_files(*checkpoint, out.path()));
  ASSERT_TRUE(write_config(checkpoint->config(), out.path()));
  EXPECT_EQ(read_file(out.path() / "tokenizer.json"), "tokens");
  EXPECT_TRUE(std::filesystem::exists(out.path() / "generation_config.json"));
  EXPECT_FALSE(std::filesystem::exists(out.path() / "model.safetensors"));
  EXPECT_EQ(read_file(out.path() / "config.json"), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}\n");
}

}  // namespace
}  // namespace llmc::model
