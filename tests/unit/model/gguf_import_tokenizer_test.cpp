// tests/unit/model/gguf_import_tokenizer_test.cpp - tokenizer.ggml.* -> tokenizer.json/tokenizer_config.json
// on the tiny models of make_gguf_import_fixtures.py (test_import_gguf.py holds the result to transformers'
// tokenization), and errors naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gguf_import_fixtures.h"
#include "model/gguf_tokenizer.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::open_gguf_import_fixture;
using Json = nlohmann::ordered_json;

Expected<HfTokenizerFiles> convert(const GgufFile& file) {
  auto config = read_gguf_model_config(file);
  if (!config) return config.error();
  return convert_gguf_tokenizer(file, *config);
}

TEST(GgufTokenizerTest, ConvertsByteLevelBpeWithSmollmDigits) {
  auto file = open_gguf_import_fixture("llama.gguf");
  ASSERT_TRUE(file);
  auto files = convert(*file);
  ASSERT_TRUE(files.has_value()) << files.error().message;
  const Json& tokenizer = files->tokenizer;
  const Json& model = tokenizer["model"];
  EXPECT_EQ(model["type"], "BPE");
  EXPECT_EQ(model["vocab"].size(), 268u);
  EXPECT_EQ(model["vocab"].begin().key(), "<|endoftext|>");  // id order
  EXPECT_EQ(model["vocab"]["Ġthe"], 3 + 256 + 2);
  EXPECT_EQ(model["merges"].size(), 8u);
  EXPECT_EQ(model["merges"][0], Json::array({"Ġ", "t"}));
  EXPECT_EQ(model["unk_token"], "<|endoftext|>");
  EXPECT_EQ(model["ignore_merges"], false);
  // "smollm": every digit alone, then GPT-2's regex (SmolLM2's own tokenizer.json; llama.cpp's regex "\p{N}").
  EXPECT_EQ(tokenizer["pre_tokenizer"]["type"], "Sequence");
  EXPECT_EQ(tokenizer["pre_tokenizer"]["pretokenizers"][0], (Json{{"type", "Digits"}, {"individual_digits", true}}));
  EXPECT_EQ(tokenizer["pre_tokenizer"]["pretokenizers"][1]["type"], "ByteLevel");
  EXPECT_EQ(tokenizer["pre_tokenizer"]["pretokenizers"][1]["use_regex"], true);
  EXPECT_EQ(tokenizer["decoder"]["type"], "ByteLevel");
  EXPECT_TRUE(tokenizer["normalizer"].is_null());

  // Control tokens (type 3) are special, user-defined ones (type 4) plain added tokens.
  const Json& added = tokenizer["added_tokens"];
  ASSERT_EQ(added.size(), 4u);
  EXPECT_EQ(added[0]["content"], "<|endoftext|>");
  EXPECT_EQ(added[1]["id"], 1);
  EXPECT_EQ(added[2]["special"], true);
  EXPECT_EQ(added[3]["content"], "<tool>");
  EXPECT_EQ(added[3]["id"], 267);
  EXPECT_EQ(added[3]["special"], false);

  // add_bos_token false: no special tokens around the sequence.
  const Json& post = tokenizer["post_processor"];
  EXPECT_EQ(post["type"], "TemplateProcessing");
  EXPECT_EQ(post["single"], Json::array({Json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}));
  EXPECT_EQ(post["special_tokens"], Json::object());

  const Json& config = files->tokenizer_config;
  EXPECT_EQ(config["bos_token"], "<|im_start|>");
  EXPECT_EQ(config["eos_token"], "<|im_end|>");
  EXPECT_EQ(config["pad_token"], "<|im_end|>");
  EXPECT_EQ(config["unk_token"], "<|endoftext|>");
  EXPECT_EQ(config["add_bos_token"], false);
  EXPECT_EQ(config["model_max_length"], 256);
  ASSERT_TRUE(files->chat_template.has_value());
  EXPECT_THAT(*files->chat_template, HasSubstr("add_generation_prompt"));
}

TEST(GgufTokenizerTest, LlamaBpeSplitsWithLlama3RegexAndAddsBos) {
  auto file = open_gguf_import_fixture("llama3.gguf");
  ASSERT_TRUE(file);
  auto files = convert(*file);
  ASSERT_TRUE(files.has_value()) << files.error().message;
  const Json& tokenizer = files->tokenizer;
  EXPECT_EQ(tokenizer["model"]["ignore_merges"], true);
  const Json& split = tokenizer["pre_tokenizer"]["pretokenizers"][0];
  EXPECT_EQ(split["type"], "Split");
  EXPECT_THAT(split["pattern"]["Regex"].get<std::string>(), HasSubstr(R"(\p{N}{1,3})"));
  EXPECT_EQ(tokenizer["pre_tokenizer"]["pretokenizers"][1]["use_regex"], false);
  const Json& post = tokenizer["post_processor"];
  EXPECT_EQ(post["single"][0], (Json{{"SpecialToken", {{"id", "<|im_start|>"}, {"type_id", 0}}}}));
  EXPECT_EQ(post["pair"].size(), 4u);  // BOS A BOS B
  EXPECT_EQ(post["special_tokens"]["<|im_start|>"]["ids"], Json::array({1}));
  EXPECT_EQ(files->tokenizer_config["add_bos_token"], true);
}

TEST(GgufTokenizerTest, Qwen2HasNfcAndItsRegex) {
  auto file = open_gguf_import_fixture("qwen2.gguf");
  ASSERT_TRUE(file);
  auto files = convert(*file);
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->tokenizer["normalizer"], (Json{{"type", "NFC"}}));
  const std::string regex = files->tokenizer["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"];
  EXPECT_THAT(regex, HasSubstr(R"(|\p{N}|)"));
}

TEST(GgufTokenizerTest, SentencePieceTokenizerIsAnErrorNamingTheKey) {
  auto file = open_gguf_import_fixture("bad_tokenizer_model.gguf");
  ASSERT_TRUE(file);
  auto files = convert(*file);
  ASSERT_FALSE(files.has_value());
  EXPECT_THAT(files.error().message, AllOf(HasSubstr("bad_tokenizer_model.gguf"), HasSubstr("'tokenizer.ggml.model'"),
                                           HasSubstr("'llama'"), HasSubstr("supported: gpt2")));
}

TEST(GgufTokenizerTest, UnknownPreTokenizerIsAnErrorListingTheSupportedOnes) {
  auto file = open_gguf_import_fixture("bad_pre_tokenizer.gguf");
  ASSERT_TRUE(file);
  auto files = convert(*file);
  ASSERT_FALSE(files.has_value());
  EXPECT_THAT(files.error().message, AllOf(HasSubstr("'tokenizer.ggml.pre'"), HasSubstr("'deepseek-coder'"),
                                           HasSubstr("smollm"), HasSubstr("llama-bpe"), HasSubstr("qwen2")));
}

}  // namespace
}  // namespace llmc::model
