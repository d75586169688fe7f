// tests/unit/data/tokenizer_test.cpp - Tokenizer against Hugging Face tokenizers: every family's tokenizer.json
// made by make_tokenizer_fixtures.py (and SmolLM2's real one) encodes and decodes its text set to the very ids
// and strings the reference produced.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "support/python_fixture.h"

namespace llmc::data {
namespace {

namespace fs = std::filesystem;

const fs::path& fixture_dir() {
  static const fs::path dir = [] {
    auto made = test::python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/data/make_tokenizer_fixtures.py",
                                     "tokenizers");
    if (!made) {
      ADD_FAILURE() << made.error().message;
      return fs::path();
    }
    return *made;
  }();
  return dir;
}

// The reference's results for the tokenizer `name`.
const nlohmann::json& reference(const std::string& name) {
  static const nlohmann::json cases = nlohmann::json::parse(test::read_text(fixture_dir() / "cases.json"));
  for (const auto& entry : cases["tokenizers"])
    if (entry["name"] == name) return entry;
  static const nlohmann::json missing;
  ADD_FAILURE() << "cases.json has no tokenizer " << name;
  return missing;
}

Tokenizer load(const std::string& name) {
  auto tokenizer = Tokenizer::load(fixture_dir() / name / "tokenizer.json");
  if (!tokenizer) throw std::runtime_error(tokenizer.error().message);
  return std::move(*tokenizer);
}

std::vector<int32_t> ids_of(const nlohmann::json& list) { return list.get<std::vector<int32_t>>(); }

class ReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceTest, EncodesEveryTextToTheReferenceIds) {
  const nlohmann::json& expected = reference(GetParam());
  ASSERT_TRUE(expected.contains("encodings"));
  const Tokenizer tokenizer = load(GetParam());
  for (const auto& test_case : expected["encodings"]) {
    const std::string text = test_case["text"];
    SCOPED_TRACE("text: \"" + text + "\"");
    EXPECT_EQ(tokenizer.encode(text), ids_of(test_case["ids"]));
    EXPECT_EQ(tokenizer.encode(text, /*add_special_tokens=*/false), ids_of(test_case["ids_no_special"]));
  }
}

TEST_P(ReferenceTest, DecodesAsTheReference) {
  const nlohmann::json& expected = reference(GetParam());
  ASSERT_TRUE(expected.contains("encodings"));
  const Tokenizer tokenizer = load(GetParam());
  for (const char* kind : {"encodings", "decodings"}) {
    for (const auto& test_case : expected[kind]) {
      const std::vector<int32_t> ids = ids_of(test_case["ids"]);
      SCOPED_TRACE(std::string(kind) + ": " + test_case["ids"].dump());
      EXPECT_EQ(tokenizer.decode(ids), test_case["decoded"].get<std::string>());
      EXPECT_EQ(tokenizer.decode(ids, /*skip_special_tokens=*/true),
                test_case["decoded_skip_special"].get<std::string>());
    }
  }
}

TEST_P(ReferenceTest, CountsTheVocabularyAsTheReference) {
  const nlohmann::json& expected = reference(GetParam());
  ASSERT_TRUE(expected.contains("vocab_size"));
  EXPECT_EQ(load(GetParam()).vocab_size(), expected["vocab_size"].get<std::size_t>());
}

INSTANTIATE_TEST_SUITE_P(Families, ReferenceTest,
                         ::testing::Values("gpt2", "gpt2_prefix_space", "llama3", "qwen2", "llama2", "mistral",
                                           "metaspace_unk", "word_suffix", "split_behaviors",
                                           "byte_level_normalizer", "smollm2"));

TEST(TokenizerTest, SpecialTokensOfThePostProcessor) {
  const Tokenizer llama3 = load("llama3");
  const auto begin_of_text = llama3.token_to_id("<|begin_of_text|>");
  ASSERT_TRUE(begin_of_text);
  EXPECT_EQ(llama3.bos_id(), begin_of_text);
  EXPECT_EQ(llama3.eos_id(), std::nullopt);
  EXPECT_EQ(std::vector<int32_t>(llama3.special_prefix().begin(), llama3.special_prefix().end()),
            std::vector<int32_t>{*begin_of_text});
  EXPECT_TRUE(llama3.special_suffix().empty());

  const Tokenizer roberta = load("gpt2_prefix_space");  // RobertaProcessing: <s> text </s>
  EXPECT_EQ(roberta.bos_id(), roberta.token_to_id("<s>"));
  EXPECT_EQ(roberta.eos_id(), roberta.token_to_id("</s>"));

  const Tokenizer smollm2 = load("smollm2");  // a template of $A alone
  EXPECT_EQ(smollm2.bos_id(), std::nullopt);
  EXPECT_EQ(smollm2.eos_id(), std::nullopt);
}

TEST(TokenizerTest, TokensAndIdsMapBothWays) {
  const Tokenizer tokenizer = load("smollm2");
  ASSERT_EQ(tokenizer.vocab_size(), 49152u);
  for (int32_t id = 0; id < static_cast<int32_t>(tokenizer.vocab_size()); ++id) {
    const auto token = tokenizer.id_to_token(id);
    ASSERT_TRUE(token) << id;
    ASSERT_EQ(tokenizer.token_to_id(*token), id) << *token;
  }
  EXPECT_EQ(tokenizer.id_to_token(-1), std::nullopt);
  EXPECT_EQ(tokenizer.id_to_token(49152), std::nullopt);
  EXPECT_EQ(tokenizer.token_to_id("no such token"), std::nullopt);
  EXPECT_EQ(tokenizer.id_to_token(1), "<|im_start|>");
  EXPECT_TRUE(tokenizer.is_special(1));
  EXPECT_FALSE(tokenizer.is_special(*tokenizer.token_to_id("Ġthe")));
}

TEST(TokenizerTest, PlainAddedTokensAreNotSpecial) {
  const Tokenizer qwen2 = load("qwen2");
  const auto tool_call = qwen2.token_to_id("<tool_call>");
  ASSERT_TRUE(tool_call);
  EXPECT_FALSE(qwen2.is_special(*tool_call));
  EXPECT_TRUE(qwen2.is_special(*qwen2.token_to_id("<|im_end|>")));
  EXPECT_EQ(qwen2.decode(qwen2.encode("a<tool_call>b<|im_end|>"), /*skip_special_tokens=*/true), "a<tool_call>b");
}

TEST(TokenizerTest, UnknownIdsDecodeToNothing) {
  const Tokenizer tokenizer = load("gpt2");
  const std::vector<int32_t> ids = tokenizer.encode("hello");
  std::vector<int32_t> with_unknown = {-5, 1'000'000};
  with_unknown.insert(with_unknown.end(), ids.begin(), ids.end());
  EXPECT_EQ(tokenizer.decode(with_unknown), "hello");
}

TEST(TokenizerTest, InvalidUtf8IsReadWithReplacementCharacters) {
  const Tokenizer tokenizer = load("smollm2");
  EXPECT_EQ(tokenizer.encode("a\xff\xfe b\xe2\x82"), tokenizer.encode("a\xEF\xBF\xBD\xEF\xBF\xBD b\xEF\xBF\xBD"));
}

TEST(TokenizerTest, MovedTokenizerKeepsWorking) {
  Tokenizer first = load("llama2");
  const std::vector<int32_t> ids = first.encode("Hello world");
  Tokenizer second = std::move(first);
  EXPECT_EQ(second.encode("Hello world"), ids);
  first = std::move(second);
  EXPECT_EQ(first.encode("Hello world"), ids);
}

// A megabyte of varied text: one encode, the same ids from several threads sharing the word cache, and the
// byte-level round trip that gives the text back.
TEST(TokenizerTest, EncodesAMegabyteConsistentlyAcrossThreads) {
  const Tokenizer tokenizer = load("smollm2");
  std::string text;
  for (const auto& test_case : reference("smollm2")["encodings"]) text += test_case["text"].get<std::string>() + "\n";
  const std::string unit = text;
  for (int i = 0; text.size() < (1u << 20); ++i) text += std::to_string(i * 7919) + " " + unit;

  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer.encode(text, false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("encoded %zu bytes into %zu ids in %.3f s\n", text.size(), ids.size(), seconds);
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_EQ(tokenizer.decode(ids), text);

  const std::string slice = text.substr(0, 64 * 1024);
  const std::vector<int32_t> slice_ids = tokenizer.encode(slice, false);
  const Tokenizer fresh = load("smollm2");  // its threads fill an empty word cache at once
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = fresh.encode(slice, false); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, slice_ids);
}

}  // namespace
}  // namespace llmc::data
