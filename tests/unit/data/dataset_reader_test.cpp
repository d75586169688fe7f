// tests/unit/data/dataset_reader_test.cpp - the records of .txt, .json and .jsonl datasets, and the errors
// that name the file, line or record, and key at fault.
#include "data/dataset_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_files.h"

namespace llmc::data {
namespace {

using ::testing::ElementsAre;
using testing::TempFiles;

std::string read_error(const std::filesystem::path& path, std::string_view text_column = "text") {
  auto records = read_dataset(path, text_column);
  return records ? "(read)" : records.error().message;
}

TEST(DatasetReader, TextFilesHaveOneSamplePerParagraph) {
  TempFiles files;
  const auto path = files.write("corpus.txt", "\n\nfirst line\nsecond line\n\n  \t\nnext paragraph\r\n\r\n\nlast");
  auto records = read_dataset(path);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].kind, DatasetRecord::Kind::kText);
  EXPECT_EQ((*records)[0].text, "first line\nsecond line");
  EXPECT_EQ((*records)[0].origin, path.string() + ":3");
  EXPECT_EQ((*records)[1].text, "next paragraph");
  EXPECT_EQ((*records)[1].origin, path.string() + ":7");
  EXPECT_EQ((*records)[2].text, "last");
}

TEST(DatasetReader, JsonlRecordsOfEachKind) {
  TempFiles files;
  const auto path = files.write("data.jsonl",
                                "{\"text\": \"plain\", \"other\": 1}\n"
                                "\n"
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n"
                                "{\"input_ids\": [1, 2, -3, 2147483647], \"text\": \"ignored\"}\n");
  auto records = read_dataset(path);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].kind, DatasetRecord::Kind::kText);
  EXPECT_EQ((*records)[0].text, "plain");
  EXPECT_EQ((*records)[1].kind, DatasetRecord::Kind::kMessages);
  EXPECT_EQ((*records)[1].messages[0]["content"], "hi");
  EXPECT_EQ((*records)[1].origin, path.string() + ":3");
  EXPECT_EQ((*records)[2].kind, DatasetRecord::Kind::kTokenIds);
  EXPECT_THAT((*records)[2].token_ids, ElementsAre(1, 2, -3, 2147483647));
}

TEST(DatasetReader, JsonArrayWithAConfiguredTextColumn) {
  TempFiles files;
  const auto path = files.write("data.json", R"([{"prompt": "a"}, {"prompt": "b", "text": "not this"}])");
  auto records = read_dataset(path, "prompt");
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].text, "b");
  EXPECT_EQ((*records)[1].origin, path.string() + ": record 1");
}

TEST(DatasetReader, MalformedInputNamesTheLineOrRecord) {
  TempFiles files;
  const auto jsonl = files.write("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \n");
  EXPECT_THAT(read_error(jsonl), ::testing::StartsWith(jsonl.string() + ":2: not valid JSON"));
  const auto array_line = files.write("array.jsonl", "[1, 2]\n");
  EXPECT_EQ(read_error(array_line), array_line.string() + ":1: expected a JSON object, got array");
  const auto json = files.write("bad.json", "[{\"text\": \"a\"},");
  EXPECT_THAT(read_error(json), ::testing::StartsWith(json.string() + ": not valid JSON"));
  const auto object = files.write("object.json", R"({"text": "a"})");
  EXPECT_EQ(read_error(object), object.string() + ": expected a JSON array of records, got object");
  const auto unknown = files.write("data.csv", "text\na\n");
  EXPECT_EQ(read_error(unknown), unknown.string() + ": unknown dataset format '.csv' (expected .txt, .json or .jsonl)");
  EXPECT_EQ(read_error(files.dir() / "absent.jsonl"), "cannot read dataset " + (files.dir() / "absent.jsonl").string());
}

TEST(DatasetReader, MissingAndMistypedFieldsNameTheKey) {
  TempFiles files;
  const auto missing = files.write("missing.json", R"([{"text": "a"}, {"content": "b"}])");
  EXPECT_EQ(read_error(missing),
            missing.string() + ": record 1: the record has none of the keys 'input_ids', 'text', 'messages'");
  EXPECT_EQ(read_error(missing, "prompt"),
            missing.string() + ": record 0: the record has none of the keys 'input_ids', 'prompt', 'messages'");
  const auto text_type = files.write("text.jsonl", "{\"text\": 5}\n");
  EXPECT_EQ(read_error(text_type), text_type.string() + ":1: 'text' must be a string, got integer");
  const auto messages = files.write("messages.jsonl", "{\"messages\": [{\"content\": \"x\"}]}\n");
  EXPECT_EQ(read_error(messages), messages.string() + ":1: 'messages'[0] must be an object with a string 'role'");
  const auto no_messages = files.write("empty_messages.jsonl", "{\"messages\": []}\n");
  EXPECT_EQ(read_error(no_messages), no_messages.string() + ":1: 'messages' must be a non-empty array of messages");
}

TEST(DatasetReader, InputIdsMustBeInt32) {
  TempFiles files;
  const auto not_array = files.write("a.jsonl", "{\"input_ids\": \"1 2\"}\n");
  EXPECT_EQ(read_error(not_array), not_array.string() + ":1: 'input_ids' must be an array of integers, got string");
  const auto real = files.write("b.jsonl", "{\"input_ids\": [1, 2.5]}\n");
  EXPECT_EQ(read_error(real), real.string() + ":1: 'input_ids'[1] must be an integer in the int32 range, got float");
  const auto big = files.write("c.json", R"([{"input_ids": [0, 1, 2147483648]}])");
  EXPECT_EQ(read_error(big),
            big.string() + ": record 0: 'input_ids'[2] must be an integer in the int32 range, got 2147483648");
  const auto text = files.write("d.jsonl", "{\"input_ids\": [\"1\"]}\n");
  EXPECT_EQ(read_error(text), text.string() + ":1: 'input_ids'[0] must be an integer in the int32 range, got string");
}

TEST(DatasetReader, EmptyDatasetsAreErrors) {
  TempFiles files;
  for (const auto& [name, content] : {std::pair{"empty.txt", "\n  \n"}, {"empty.jsonl", "\n"}, {"empty.json", "[]"}}) {
    const auto path = files.write(name, content);
    EXPECT_EQ(read_error(path), path.string() + ": the dataset has no samples");
  }
}

}  // namespace
}  // namespace llmc::data
