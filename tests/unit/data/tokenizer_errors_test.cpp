// tests/unit/data/tokenizer_errors_test.cpp - Tokenizer::load's errors name the file and the JSON path at fault;
// a small hand-written tokenizer.json checks that a valid file loads and each broken variant does not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"

namespace llmc::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A byte-level BPE that knows "a", "b", "ab" and the space.
nlohmann::json minimal_tokenizer() {
  return nlohmann::json::parse(R"({
    "version": "1.0",
    "added_tokens": [{"id": 4, "content": "<eos>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": [["a", "b"]]}
  })");
}

class TokenizerErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("llmc-tokenizer-errors-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(std::string_view bytes) {
    const fs::path path = dir_ / "tokenizer.json";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // The error of loading `json`, which must fail.
  std::string load_error(const nlohmann::json& json) {
    auto tokenizer = Tokenizer::load(write(json.dump()));
    if (tokenizer) return "(loaded)";
    return tokenizer.error().message;
  }

  fs::path dir_;
};

TEST_F(TokenizerErrorsTest, MinimalTokenizerLoads) {
  auto tokenizer = Tokenizer::load(write(minimal_tokenizer().dump()));
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  EXPECT_EQ(tokenizer->encode("ab a<eos>"), (std::vector<int32_t>{2, 3, 0, 4}));
  EXPECT_EQ(tokenizer->decode(std::vector<int32_t>{2, 3, 0, 4}), "ab a<eos>");
  EXPECT_EQ(tokenizer->vocab_size(), 5u);
}

TEST_F(TokenizerErrorsTest, MissingFileIsNamed) {
  auto tokenizer = Tokenizer::load(dir_ / "absent" / "tokenizer.json");
  ASSERT_FALSE(tokenizer);
  EXPECT_THAT(tokenizer.error().message, HasSubstr((dir_ / "absent" / "tokenizer.json").string()));
}

TEST_F(TokenizerErrorsTest, MalformedJsonNamesTheFile) {
  auto tokenizer = Tokenizer::load(write(R"({"model": {"type": "BPE", )"));
  ASSERT_FALSE(tokenizer);
  EXPECT_THAT(tokenizer.error().message, HasSubstr((dir_ / "tokenizer.json").string() + ": not valid JSON"));
}

TEST_F(TokenizerErrorsTest, UnsupportedPreTokenizerNamesItsPath) {
  nlohmann::json json = minimal_tokenizer();
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", {{{"type", "ByteLevel"}}, {{"type", "Foo"}}}}};
  EXPECT_THAT(load_error(json), HasSubstr("tokenizer.json: pre_tokenizer.pretokenizers[1].type \"Foo\" is not "
                                          "supported (supported: Sequence, ByteLevel, Split, Digits, Metaspace)"));
}

TEST_F(TokenizerErrorsTest, UnsupportedComponentsNameTheirPaths) {
  nlohmann::json json = minimal_tokenizer();
  json["normalizer"] = {{"type", "Precompiled"}};
  EXPECT_THAT(load_error(json), HasSubstr("normalizer.type \"Precompiled\" is not supported"));

  json = minimal_tokenizer();
  json["decoder"] = {{"type", "Sequence"}, {"decoders", {{{"type", "Fuse"}}, {{"type", "WordPiece"}}}}};
  EXPECT_THAT(load_error(json), HasSubstr("decoder.decoders[1].type \"WordPiece\" is not supported"));

  json = minimal_tokenizer();
  json["post_processor"] = {{"type", "Sequence"}, {"processors", {{{"type", "Mystery"}}}}};
  EXPECT_THAT(load_error(json), HasSubstr("post_processor.processors[0].type \"Mystery\" is not supported"));

  json = minimal_tokenizer();
  json["model"]["type"] = "WordPiece";
  EXPECT_THAT(load_error(json), HasSubstr("model.type \"WordPiece\" is not supported (supported: BPE)"));
}

TEST_F(TokenizerErrorsTest, BrokenModelsNameTheKey) {
  nlohmann::json json = minimal_tokenizer();
  json["model"]["merges"] = {"a b", "ab c"};
  EXPECT_THAT(load_error(json), HasSubstr("model.merges[1] names \"c\", which is not in model.vocab"));

  json = minimal_tokenizer();
  json["model"]["merges"] = {"a b c"};
  EXPECT_THAT(load_error(json), HasSubstr("model.merges[0] must be a string \"a b\" or a pair of strings"));

  json["model"]["merges"] = {{"a", "b", "c"}};
  EXPECT_THAT(load_error(json), HasSubstr("model.merges[0] must be a string \"a b\" or a pair of strings"));

  json = minimal_tokenizer();
  json["model"]["vocab"]["c"] = "seven";
  EXPECT_THAT(load_error(json), HasSubstr("model.vocab.c must be an id"));

  json = minimal_tokenizer();
  json["model"].erase("vocab");
  EXPECT_THAT(load_error(json), HasSubstr("model.vocab is missing"));

  json = minimal_tokenizer();
  json["model"]["unk_token"] = "<unk>";
  EXPECT_THAT(load_error(json), HasSubstr("model.unk_token \"<unk>\" is not in model.vocab"));

  json = minimal_tokenizer();
  json["model"]["dropout"] = 0.1;
  EXPECT_THAT(load_error(json), HasSubstr("model.dropout is not supported"));
}

TEST_F(TokenizerErrorsTest, BadValuesNameTheKey) {
  nlohmann::json json = minimal_tokenizer();
  json["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"},
                           {"invert", false}};
  EXPECT_THAT(load_error(json), HasSubstr("pre_tokenizer.pattern.Regex regex \"(unclosed\" does not compile"));

  json["pre_tokenizer"]["pattern"] = {{"Regex", "\\s+"}};
  json["pre_tokenizer"]["behavior"] = "Sideways";
  EXPECT_THAT(load_error(json), HasSubstr("pre_tokenizer.behavior \"Sideways\" is not one of"));

  json = minimal_tokenizer();
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  EXPECT_THAT(load_error(json), HasSubstr("pre_tokenizer.replacement must be a single character"));

  json = minimal_tokenizer();
  json["added_tokens"][0]["lstrip"] = "yes";
  EXPECT_THAT(load_error(json), HasSubstr("added_tokens[0].lstrip must be a boolean, not a string"));

  json = minimal_tokenizer();
  json["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", {{{"SpecialToken", {{"id", "<bos>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
                            {"special_tokens", nlohmann::json::object()}};
  EXPECT_THAT(load_error(json), HasSubstr("post_processor.special_tokens.<bos> is missing"));

  json = minimal_tokenizer();
  json["version"] = "2.0";
  EXPECT_THAT(load_error(json), HasSubstr("version \"2.0\" is not supported"));
}

}  // namespace
}  // namespace llmc::data
