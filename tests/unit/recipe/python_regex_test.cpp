// tests/unit/recipe/python_regex_test.cpp - Python `re` patterns on std::regex.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/python_regex.h"

namespace llmc::recipe {
namespace {

using ::testing::HasSubstr;

std::string translated(std::string_view pattern) {
  auto out = python_regex_to_ecmascript(pattern);
  return out ? *out : "error: " + out.error().message;
}

bool matches(std::string_view pattern, std::string_view text) {
  auto regex = compile_python_regex(pattern);
  EXPECT_TRUE(regex) << regex.error().message;
  return regex && python_re_match(*regex, text);
}

TEST(recipePythonRegex, Translation) {
  EXPECT_EQ(translated(R"(.*self_attn\.(q|k|v|o)_proj$)"), R"(.*self_attn\.(q|k|v|o)_proj$)");
  EXPECT_EQ(translated(R"(.*layers\.(?P<layer>\d+)\.mlp)"), R"(.*layers\.(\d+)\.mlp)");
  EXPECT_EQ(translated(R"(\Amodel\Z)"), "^model$");
  EXPECT_THAT(translated(R"([\A])"), HasSubstr("the escape '\\A' is not supported"));  // Python: bad escape
  EXPECT_EQ(translated("a{,3}b{2}c{1,}"), "a{0,3}b{2}c{1,}");
  EXPECT_EQ(translated("a{b}"), R"(a\{b\})");
  EXPECT_EQ(translated("[]a]"), R"([\]a])");
  EXPECT_EQ(translated("[^]a]"), R"([^\]a])");
  EXPECT_EQ(translated("(?:a|b)(?=c)(?!d)"), "(?:a|b)(?=c)(?!d)");
}

TEST(recipePythonRegex, RejectsPythonOnlySyntax) {
  EXPECT_THAT(translated("(?<=mlp)gate"), HasSubstr("lookbehind"));
  EXPECT_THAT(translated("(?<!mlp)gate"), HasSubstr("lookbehind"));
  EXPECT_THAT(translated("(?P<x>a)(?P=x)"), HasSubstr("named backreference"));
  EXPECT_THAT(translated("(?i)linear"), HasSubstr("inline flag group '(?i'"));
  EXPECT_THAT(translated("a(?#note)"), HasSubstr("comment group"));
  EXPECT_THAT(translated("(?>a)"), HasSubstr("atomic group"));
  EXPECT_THAT(translated("(a)?(?(1)b|c)"), HasSubstr("conditional group"));
  EXPECT_THAT(translated("a++"), HasSubstr("possessive quantifier"));
  EXPECT_THAT(translated("a{2}+"), HasSubstr("possessive quantifier"));
  EXPECT_THAT(translated(R"(a\z)"), HasSubstr("the escape '\\z' is not supported"));
  EXPECT_THAT(translated("[ab"), HasSubstr("not closed"));
  EXPECT_THAT(translated("ab\\"), HasSubstr("lone backslash"));
  auto invalid = compile_python_regex("(a");
  ASSERT_FALSE(invalid);
  EXPECT_THAT(invalid.error().message, HasSubstr("invalid regular expression"));
}

TEST(recipePythonRegex, MatchIsAnchoredAtTheStartOnly) {
  EXPECT_TRUE(matches("model.layers.0", "model.layers.0.mlp.down_proj"));
  EXPECT_TRUE(matches("model.layers.0", "model.layers.01"));
  EXPECT_FALSE(matches("layers", "model.layers.0"));
  EXPECT_TRUE(matches(".*layers", "model.layers.0"));
  EXPECT_FALSE(matches(R"(.*down_proj$)", "model.layers.0.mlp.down_proj.x"));
  EXPECT_TRUE(matches(R"(.*layers\.(?P<n>\d+)\.mlp\.down_proj\Z)", "model.layers.12.mlp.down_proj"));
  EXPECT_TRUE(matches("a{,2}b", "aab"));
  EXPECT_TRUE(matches("x{y}", "x{y}"));
}

}  // namespace
}  // namespace llmc::recipe
