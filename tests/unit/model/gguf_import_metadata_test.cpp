// tests/unit/model/gguf_import_metadata_test.cpp - typed reads of GGUF metadata keys, and their errors naming
// the file, the key and the type found, on the tiny llama of make_gguf_import_fixtures.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gguf_import_fixtures.h"
#include "model/gguf_metadata.h"

namespace llmc::model {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::open_gguf_import_fixture;

TEST(GgufMetadataTest, ReadsPresentKeysAndReportsAbsentOnes) {
  auto file = open_gguf_import_fixture("llama.gguf");
  ASSERT_TRUE(file);
  EXPECT_EQ(require_int(*file, "llama.block_count").value(), 2);
  EXPECT_EQ(optional_int(*file, "llama.no_such_key").value(), std::nullopt);
  EXPECT_EQ(optional_float(*file, "llama.rope.freq_base").value(), 500000.0);
  EXPECT_EQ(optional_float(*file, "llama.block_count").value(), 2.0);  // integers are numbers too
  EXPECT_EQ(optional_bool(*file, "tokenizer.ggml.add_bos_token").value(), false);
  EXPECT_EQ(require_string(*file, "tokenizer.ggml.pre").value(), "smollm");
  EXPECT_EQ(optional_string(*file, "tokenizer.ggml.absent").value(), std::nullopt);
  EXPECT_EQ(require_array(*file, "tokenizer.ggml.tokens", GgufValueType::STRING).value()->size(), 268u);
  // Integer arrays accept any integer element type (writers use INT32 or UINT32 for token types).
  EXPECT_EQ(require_array(*file, "tokenizer.ggml.token_type", GgufValueType::UINT32).value()->size(), 268u);
  EXPECT_EQ(optional_array(*file, "tokenizer.ggml.scores", GgufValueType::FLOAT32).value(), nullptr);

  auto missing = require_int(*file, "llama.no_such_key");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, AllOf(HasSubstr("llama.gguf"), HasSubstr("'llama.no_such_key' is missing")));
}

TEST(GgufMetadataTest, WrongTypesNameTheKeyAndBothTypes) {
  auto file = open_gguf_import_fixture("llama.gguf");
  ASSERT_TRUE(file);
  auto as_int = require_int(*file, "tokenizer.ggml.pre");
  ASSERT_FALSE(as_int.has_value());
  EXPECT_THAT(as_int.error().message,
              AllOf(HasSubstr("llama.gguf"), HasSubstr("'tokenizer.ggml.pre' is STRING, expected an integer")));
  auto as_int_from_float = optional_int(*file, "llama.rope.freq_base");
  ASSERT_FALSE(as_int_from_float.has_value());
  EXPECT_THAT(as_int_from_float.error().message, HasSubstr("is FLOAT32, expected an integer"));
  auto as_bool = optional_bool(*file, "llama.block_count");
  ASSERT_FALSE(as_bool.has_value());
  EXPECT_THAT(as_bool.error().message, HasSubstr("'llama.block_count' is UINT32, expected a BOOL"));
  auto as_string = require_string(*file, "tokenizer.ggml.tokens");
  ASSERT_FALSE(as_string.has_value());
  EXPECT_THAT(as_string.error().message, HasSubstr("is ARRAY, expected a STRING"));
  auto strings_as_ints = require_array(*file, "tokenizer.ggml.tokens", GgufValueType::INT32);
  ASSERT_FALSE(strings_as_ints.has_value());
  EXPECT_THAT(strings_as_ints.error().message,
              HasSubstr("'tokenizer.ggml.tokens' is an ARRAY of STRING, expected an ARRAY of integers"));
}

}  // namespace
}  // namespace llmc::model
