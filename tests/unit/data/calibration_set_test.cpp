// tests/unit/data/calibration_set_test.cpp - samples, their count, order, truncation and chunking, with a
// byte-per-token test encoder.
#include "data/calibration_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "temp_files.h"

namespace llmc::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempFiles;

constexpr int32_t kBos = 1000;

// One id per byte; add_special_tokens puts kBos first, as a Llama tokenizer would.
std::vector<int32_t> encode_bytes(std::string_view text, bool add_special_tokens) {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids.push_back(kBos);
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

std::string decode_bytes(const std::vector<int32_t>& ids) {
  std::string text;
  for (int32_t id : ids) text += id == kBos ? '^' : static_cast<char>(id);
  return text;
}

std::vector<std::string> decoded(const CalibrationSet& set) {
  std::vector<std::string> texts;
  for (const auto& sample : set.samples) texts.push_back(decode_bytes(sample));
  return texts;
}

std::vector<DatasetRecord> text_records(std::initializer_list<const char*> texts) {
  std::vector<DatasetRecord> records;
  int line = 1;
  for (const char* text : texts) {
    records.push_back({DatasetRecord::Kind::kText, text, {}, {}, "data.txt:" + std::to_string(line++)});
  }
  return records;
}

CalibrationOptions in_order() {
  CalibrationOptions options;
  options.shuffle = false;
  return options;
}

TEST(CalibrationSet, TextGetsSpecialTokensChatsDoNotTokenIdsStayAsTheyAre) {
  TempFiles files;
  const auto path = files.write("mixed.jsonl",
                                "{\"text\": \"plain\"}\n"
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n"
                                "{\"input_ids\": [7, 8, 9]}\n");
  auto chat_template = ChatTemplate::parse("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}", {}, "t");
  ASSERT_TRUE(chat_template);
  CalibrationOptions options;
  options.shuffle = false;
  auto set = load_calibration_set(path, options, encode_bytes, &*chat_template);
  ASSERT_TRUE(set) << set.error().message;
  // Without shuffling the longest samples come first (stable among equal lengths).
  EXPECT_THAT(decoded(*set), ElementsAre("<user>hi", "^plain", "\a\b\t"));
  EXPECT_EQ(set->total_tokens(), 8u + 6u + 3u);
}

TEST(CalibrationSet, SampleCountTakesTheLongestWithoutShuffle) {
  CalibrationOptions options = in_order();
  options.num_samples = 2;
  auto set = build_calibration_set(text_records({"a", "abcd", "ab", "abc"}), options, encode_bytes, nullptr);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_THAT(decoded(*set), ElementsAre("^abcd", "^abc"));
}

TEST(CalibrationSet, MaxSeqLengthTruncates) {
  CalibrationOptions options = in_order();
  options.max_seq_length = 3;
  std::vector<DatasetRecord> records = text_records({"abcdef", "x"});
  records.push_back({DatasetRecord::Kind::kTokenIds, "", {}, {1, 2, 3, 4, 5}, "ids.jsonl:1"});
  auto set = build_calibration_set(records, options, encode_bytes, nullptr);
  ASSERT_TRUE(set) << set.error().message;
  ASSERT_EQ(set->samples.size(), 3u);
  EXPECT_EQ(decode_bytes(set->samples[0]), "^ab");
  EXPECT_THAT(set->samples[1], ElementsAre(1, 2, 3));
  EXPECT_EQ(decode_bytes(set->samples[2]), "^x");
}

TEST(CalibrationSet, ShuffleIsDeterministicPerSeed) {
  std::vector<DatasetRecord> records;
  for (int i = 0; i < 40; ++i) {
    records.push_back({DatasetRecord::Kind::kText, "s" + std::to_string(i), {}, {}, "x"});
  }
  CalibrationOptions options;
  options.num_samples = 10;
  options.seed = 7;
  auto first = build_calibration_set(records, options, encode_bytes, nullptr);
  auto again = build_calibration_set(records, options, encode_bytes, nullptr);
  options.seed = 8;
  auto other = build_calibration_set(records, options, encode_bytes, nullptr);
  ASSERT_TRUE(first && again && other);
  EXPECT_EQ(first->samples.size(), 10u);
  EXPECT_EQ(first->samples, again->samples);
  EXPECT_NE(first->samples, other->samples);
  // The samples are distinct records of the dataset.
  std::vector<std::string> texts = decoded(*first);
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(std::unique(texts.begin(), texts.end()), texts.end());
}

TEST(CalibrationSet, SeededPermutationIsFixedAcrossPlatforms) {
  // mt19937_64's output is fixed by the standard, and the permutation uses no std distribution; the
  // expected order was computed with an independent Python MT19937-64 running the documented algorithm.
  EXPECT_THAT(seeded_permutation(6, 42), ElementsAre(3, 1, 5, 2, 4, 0));
  const std::vector<size_t> order = seeded_permutation(100, 1);
  std::vector<size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(order, sorted);
}

TEST(CalibrationSet, ConcatenationCutsChunksAndDropsTheRemainder) {
  CalibrationOptions options = in_order();
  options.concatenate = true;
  options.max_seq_length = 4;
  // ^ab ^cde ^f ^gh ^i -> "^ab^cde^f^gh^i" (14 tokens): three chunks of 4, "^i" dropped.
  const auto records = text_records({"ab", "cde", "f", "gh", "i"});
  auto set = build_calibration_set(records, options, encode_bytes, nullptr);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_THAT(decoded(*set), ElementsAre("^ab^", "cde^", "f^gh"));

  options.num_samples = 2;
  auto limited = build_calibration_set(records, options, encode_bytes, nullptr);
  ASSERT_TRUE(limited);
  EXPECT_THAT(decoded(*limited), ElementsAre("^ab^", "cde^"));
}

TEST(CalibrationSet, ConcatenationTruncatesEachRecordFirst) {
  CalibrationOptions options = in_order();
  options.concatenate = true;
  options.max_seq_length = 3;
  // "^abcdef" truncates to "^ab" before joining, as the reference tokenizes with truncation.
  auto set = build_calibration_set(text_records({"abcdef", "xy"}), options, encode_bytes, nullptr);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_THAT(decoded(*set), ElementsAre("^ab", "^xy"));
}

TEST(CalibrationSet, EmptySamplesAreSkipped) {
  std::vector<DatasetRecord> records = text_records({"ab"});
  records.push_back({DatasetRecord::Kind::kTokenIds, "", {}, {}, "ids.jsonl:1"});
  auto set = build_calibration_set(records, in_order(), encode_bytes, nullptr);
  ASSERT_TRUE(set);
  EXPECT_THAT(decoded(*set), ElementsAre("^ab"));
}

TEST(CalibrationSet, Errors) {
  std::vector<DatasetRecord> empty_ids{{DatasetRecord::Kind::kTokenIds, "", {}, {}, "ids.jsonl:1"}};
  auto nothing = build_calibration_set(empty_ids, in_order(), encode_bytes, nullptr);
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().message, "calibration: every record of the dataset tokenized to nothing");

  CalibrationOptions chunked = in_order();
  chunked.concatenate = true;
  chunked.max_seq_length = 100;
  auto short_data = build_calibration_set(text_records({"abc"}), chunked, encode_bytes, nullptr);
  ASSERT_FALSE(short_data);
  EXPECT_EQ(short_data.error().message,
            "calibration: the dataset's 4 tokens do not fill one chunk of max_seq_length 100");

  std::vector<DatasetRecord> chat{
      {DatasetRecord::Kind::kMessages, "", nlohmann::ordered_json::parse(R"([{"role": "user"}])"), {}, "chat.jsonl:3"}};
  auto no_template = build_calibration_set(chat, in_order(), encode_bytes, nullptr);
  ASSERT_FALSE(no_template);
  EXPECT_EQ(no_template.error().message, "chat.jsonl:3: the record has 'messages' but the model has no chat template");

  auto failing = ChatTemplate::parse("{{ raise_exception('bad roles') }}", {}, "tpl");
  ASSERT_TRUE(failing);
  auto render_error = build_calibration_set(chat, in_order(), encode_bytes, &*failing);
  ASSERT_FALSE(render_error);
  EXPECT_EQ(render_error.error().message, "chat.jsonl:3: tpl:1:4: bad roles");

  CalibrationOptions zero = in_order();
  zero.num_samples = 0;
  auto no_samples = build_calibration_set(text_records({"a"}), zero, encode_bytes, nullptr);
  ASSERT_FALSE(no_samples);
  EXPECT_THAT(no_samples.error().message, HasSubstr("num_samples must be at least 1"));

  TempFiles files;
  auto unreadable = load_calibration_set(files.write("bad.jsonl", "{\"x\": 1}\n"), in_order(), encode_bytes, nullptr);
  ASSERT_FALSE(unreadable);
  EXPECT_THAT(unreadable.error().message, HasSubstr("bad.jsonl:1: the record has none of the keys"));
}

}  // namespace
}  // namespace llmc::data
