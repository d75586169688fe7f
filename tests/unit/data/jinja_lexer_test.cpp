// tests/unit/data/jinja_lexer_test.cpp - tokens, their positions, and whitespace control.
#include "data/jinja_lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmc::data::jinja {
namespace {

std::string describe(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& token : tokens) {
    static const char* kNames[] = {"text", "{{", "}}", "{%", "%}", "name", "str", "int", "float", "op", "end"};
    out += std::string(kNames[static_cast<int>(token.kind)]) + "(" + token.text + ")@" +
           std::to_string(token.pos.line) + ":" + std::to_string(token.pos.column) + " ";
  }
  return out;
}

TEST(JinjaLexer, TokensCarryTheirKindTextAndPosition) {
  auto tokens = tokenize("hi\n{{ x.y[0] ~ 'a\\n' }}{% if 1.5e3 >= 2 %}");
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_EQ(describe(*tokens),
            "text(hi\n)@1:1 {{({{)@2:1 name(x)@2:4 op(.)@2:5 name(y)@2:6 op([)@2:7 int(0)@2:8 op(])@2:9 op(~)@2:11 "
            "str(a\n)@2:13 }}(}})@2:19 {%({%)@2:21 name(if)@2:24 float(1.5e3)@2:27 op(>=)@2:33 int(2)@2:36 "
            "%}(%})@2:38 end()@2:40 ");
}

TEST(JinjaLexer, CommentsAreDropped) {
  auto tokens = tokenize("a{# {{ x }} #}b");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(describe(*tokens), "text(a)@1:1 text(b)@1:15 end()@1:16 ");
}

TEST(JinjaLexer, MinusInsideBracketsIsAnOperator) {
  auto tokens = tokenize("{{ (a -1) -}}  x");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(describe(*tokens),
            "{{({{)@1:1 op(()@1:4 name(a)@1:5 op(-)@1:7 int(1)@1:8 op())@1:9 }}(}})@1:11 text(x)@1:16 end()@1:17 ");
}

TEST(JinjaLexer, WithoutTrimAndLstripBlocksWhitespaceStays) {
  LexerOptions plain;
  plain.trim_blocks = false;
  plain.lstrip_blocks = false;
  plain.keep_trailing_newline = true;
  auto tokens = tokenize("  {% if x %}\n", plain);
  ASSERT_TRUE(tokens);
  EXPECT_EQ(describe(*tokens), "text(  )@1:1 {%({%)@1:3 name(if)@1:6 name(x)@1:9 %}(%})@1:11 text(\n)@1:13 end()@2:1 ");
}

TEST(JinjaLexer, TrimBlocksDropsOneNewlineAfterABlockTag) {
  auto tokens = tokenize("{% if x %}\n\nA{{ y }}\nB");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(describe(*tokens),
            "{%({%)@1:1 name(if)@1:4 name(x)@1:7 %}(%})@1:9 text(\nA)@2:1 {{({{)@3:2 name(y)@3:5 }}(}})@3:7 "
            "text(\nB)@3:9 end()@4:2 ");
}

}  // namespace
}  // namespace llmc::data::jinja
