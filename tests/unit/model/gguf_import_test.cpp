// tests/unit/model/gguf_import_test.cpp - import_gguf end to end on the tiny models of
// make_gguf_import_fixtures.py: every tensor's bf16 bits equal those of gguf's dequantization, transformers'
// reverse q/k permutation and torch's bf16 rounding (exact: no tolerance); errors leave no output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gguf_import_fixtures.h"
#include "model/gguf_import.h"
#include "model/safetensors_file.h"
#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::gguf_import_fixtures;
using testing::read_file;
using testing::TempDir;

class GgufImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixtures_ = gguf_import_fixtures();
    ASSERT_FALSE(fixtures_.empty()) << "make_gguf_import_fixtures.py failed";
  }

  std::variant<GgufImportSummary, GgufImportError> run(std::string_view gguf, uint64_t max_shard = 5'000'000'000) {
    GgufImportOptions options;
    options.gguf = fixtures_ / gguf;
    options.output = out_;
    options.progress = false;
    options.max_shard_bytes = max_shard;
    return import_gguf(options);
  }

  // Every expected tensor, bit for bit, in the output's shards.
  void expect_tensors(std::string_view arch, size_t shards) {
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    for (const auto& entry : std::filesystem::directory_iterator(out_)) {
      if (entry.path().extension() != ".safetensors") continue;
      auto file = SafetensorsFile::open(entry.path());
      ASSERT_TRUE(file.has_value()) << file.error().message;
      files.push_back(std::move(*file));
    }
    ASSERT_EQ(files.size(), shards);
    size_t found = 0, written = 0;
    for (const auto& file : files) written += file->tensors().size();
    for (const auto& entry : std::filesystem::directory_iterator(fixtures_ / fmt::format("{}.expected", arch))) {
      const std::string name = entry.path().stem().string();
      const std::string expected = read_file(entry.path());
      for (const auto& file : files) {
        const TensorInfo* info = file->find(name);
        if (info == nullptr) continue;
        ++found;
        EXPECT_EQ(info->dtype, DType::BF16) << name;
        const auto data = file->data(*info);
        ASSERT_EQ(data.size(), expected.size()) << name;
        EXPECT_EQ(std::memcmp(data.data(), expected.data(), expected.size()), 0) << name << " differs";
      }
    }
    EXPECT_EQ(found, written) << "tensors without an expected file, or missing ones";
  }

  std::filesystem::path fixtures_;
  TempDir tmp_{"gguf-import"};
  std::filesystem::path out_ = tmp_.path() / "out";
};

TEST_F(GgufImportTest, LlamaTensorsAreBitExactWithQkUnpermuted) {
  const auto result = run("llama.gguf");
  ASSERT_TRUE(std::holds_alternative<GgufImportSummary>(result)) << std::get<GgufImportError>(result).message;
  const auto& summary = std::get<GgufImportSummary>(result);
  EXPECT_EQ(summary.tensors, 1 + 2 * 9 + 1u);
  EXPECT_EQ(summary.shards, 1u);
  EXPECT_EQ(summary.output, std::filesystem::absolute(out_).lexically_normal());
  expect_tensors("llama", 1);
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                           "chat_template.jinja"})
    EXPECT_TRUE(std::filesystem::exists(out_ / name)) << name;
  const auto config = nlohmann::json::parse(read_file(out_ / "config.json"));
  EXPECT_EQ(config["architectures"][0], "LlamaForCausalLM");
}

TEST_F(GgufImportTest, Qwen2BiasesAndLmHeadAcrossShards) {
  // Shards of at most 40 kB: the Q8_0 embedding (268 x 64 bf16 = 34 kB) fills one alone.
  const auto result = run("qwen2.gguf", 40'000);
  ASSERT_TRUE(std::holds_alternative<GgufImportSummary>(result)) << std::get<GgufImportError>(result).message;
  const size_t shards = std::get<GgufImportSummary>(result).shards;
  EXPECT_GT(shards, 1u);
  EXPECT_TRUE(std::filesystem::exists(out_ / "model.safetensors.index.json"));
  expect_tensors("qwen2", shards);
}

TEST_F(GgufImportTest, Qwen3QkNorms) {
  const auto result = run("qwen3.gguf");
  ASSERT_TRUE(std::holds_alternative<GgufImportSummary>(result)) << std::get<GgufImportError>(result).message;
  expect_tensors("qwen3", 1);
}

TEST_F(GgufImportTest, InputErrorsNameTheCulpritAndLeaveNoOutput) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"bad_architecture.gguf", "'general.architecture'"},
      {"bad_missing_key.gguf", "'llama.block_count'"},
      {"bad_tokenizer_model.gguf", "'tokenizer.ggml.model'"},
      {"bad_pre_tokenizer.gguf", "'tokenizer.ggml.pre'"},
      {"bad_tensor_type.gguf", "tensor 'blk.0.ffn_up.weight': llmc cannot dequantize its type Q5_0"},
      {"bad_stray_tensor.gguf", "'blk.7.attn_norm.weight'"},
      {"bad_shape.gguf", "'blk.0.attn_k.weight' has shape [32, 64], but the metadata make "
                         "model.layers.0.self_attn.k_proj.weight [64, 64]"},
      {"no_such_file.gguf", "no_such_file.gguf"},
  };
  for (const auto& [gguf, culprit] : cases) {
    const auto result = run(gguf);
    ASSERT_TRUE(std::holds_alternative<GgufImportError>(result)) << gguf;
    const auto& error = std::get<GgufImportError>(result);
    EXPECT_EQ(error.failure, GgufImportFailure::input) << gguf;
    EXPECT_THAT(error.message, AllOf(HasSubstr(gguf), HasSubstr(culprit)));
    EXPECT_FALSE(std::filesystem::exists(out_)) << gguf;
  }
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path())) << "a temporary directory was left behind";
}

TEST_F(GgufImportTest, ExistingOutputIsAnOutputErrorUnlessOverwriting) {
  std::filesystem::create_directories(out_);
  testing::write_file(out_ / "keep.txt", "x");
  const auto refused = run("llama.gguf");
  ASSERT_TRUE(std::holds_alternative<GgufImportError>(refused));
  EXPECT_EQ(std::get<GgufImportError>(refused).failure, GgufImportFailure::output);
  EXPECT_THAT(std::get<GgufImportError>(refused).message, HasSubstr("--overwrite"));
  EXPECT_TRUE(std::filesystem::exists(out_ / "keep.txt"));

  GgufImportOptions options;
  options.gguf = fixtures_ / "llama.gguf";
  options.output = out_;
  options.overwrite = true;
  options.progress = false;
  const auto replaced = import_gguf(options);
  ASSERT_TRUE(std::holds_alternative<GgufImportSummary>(replaced)) << std::get<GgufImportError>(replaced).message;
  EXPECT_FALSE(std::filesystem::exists(out_ / "keep.txt"));
  EXPECT_TRUE(std::filesystem::exists(out_ / "model.safetensors"));
}

}  // namespace
}  // namespace llmc::model
