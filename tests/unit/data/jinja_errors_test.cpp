// tests/unit/data/jinja_errors_test.cpp - syntax and render errors name the template position (line:column)
// and what failed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "data/jinja_template.h"

namespace llmc::data::jinja {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string parse_error(std::string_view source) {
  auto compiled = Template::parse(source);
  return compiled ? "(parsed)" : compiled.error().message;
}

std::string render_error(std::string_view source, const char* variables = "{}") {
  auto compiled = Template::parse(source);
  if (!compiled) return "(parse failed: " + compiled.error().message + ")";
  auto rendered = compiled->render(nlohmann::ordered_json::parse(variables));
  return rendered ? "(rendered: " + *rendered + ")" : rendered.error().message;
}

TEST(JinjaErrors, UnclosedBlockNamesWhereItOpened) {
  EXPECT_THAT(parse_error("a\n  {% if x %}b"), AllOf(StartsWith("2:14: unexpected end of template"),
                                                     HasSubstr("'if' block opened at 2:3"), HasSubstr("'endif'")));
  EXPECT_EQ(parse_error("{% for x in y %}{% if x %}{% endfor %}"),
            "1:30: unexpected 'endfor': the 'if' block opened at 1:17 is not closed (expected 'endif')");
  EXPECT_THAT(parse_error("{% set x %}abc"), HasSubstr("'endset'"));
}

TEST(JinjaErrors, UnclosedTagsAndComments) {
  EXPECT_EQ(parse_error("ab\n {{ x "), "2:2: unclosed '{{': missing '}}'");
  EXPECT_EQ(parse_error("{% if x "), "1:1: unclosed '{%': missing '%}'");
  EXPECT_EQ(parse_error("x {# note"), "1:3: missing end of comment tag");
  EXPECT_EQ(parse_error("{{ 'abc }}"), "1:4: unterminated string literal");
}

TEST(JinjaErrors, StrayAndUnknownTags) {
  EXPECT_EQ(parse_error("x{% endfor %}"), "1:2: unexpected 'endfor': no open block it closes");
  EXPECT_EQ(parse_error("{% include 'x' %}"), "1:1: unknown tag 'include'");
  EXPECT_EQ(parse_error("{% for x in y recursive %}{% endfor %}"), "1:15: recursive for loops are not supported");
}

TEST(JinjaErrors, BadExpressions) {
  EXPECT_EQ(parse_error("{{ 1 + }}"), "1:8: expected an expression, got end of print statement '}}'");
  EXPECT_EQ(parse_error("{{ (1 }}"), "1:7: unexpected '}', expected ')'");
  EXPECT_EQ(parse_error("{{ x ]}}"), "1:6: unexpected ']'");
  EXPECT_EQ(parse_error("{% if %}{% endif %}"), "1:7: expected an expression, got end of statement block '%}'");
  EXPECT_EQ(parse_error("{{ a b }}"), "1:6: expected end of print statement '}}', got 'b'");
  EXPECT_EQ(parse_error("{{ f(a=1, 2) }}"), "1:11: positional argument follows keyword argument");
  EXPECT_EQ(parse_error("{{ 99999999999999999999 }}"), "1:4: number literal 99999999999999999999 is out of range");
  EXPECT_EQ(parse_error("{{ 1e999 }}"), "1:4: number literal 1e999 is out of range");
}

TEST(JinjaErrors, UnknownFilterAndTest) {
  EXPECT_EQ(render_error("line\n{{ 'x' | shout }}"), "2:8: no filter named 'shout'");
  EXPECT_EQ(render_error("{{ 1 is prime }}"), "1:6: no test named 'prime'");
}

TEST(JinjaErrors, RaiseExceptionMessageIsPropagated) {
  EXPECT_EQ(render_error("{% if true %}\n  {{ raise_exception('Roles must alternate!') }}\n{% endif %}"),
            "2:6: Roles must alternate!");
}

TEST(JinjaErrors, UndefinedValuesFailWhenUsed) {
  EXPECT_EQ(render_error("{{ a.b }}"), "1:5: 'a' is undefined");
  EXPECT_EQ(render_error("{{ d.x.y }}", R"({"d": {}})"), "1:7: 'dict object' has no attribute 'x'");
  EXPECT_EQ(render_error("{{ n.x.y }}", R"({"n": null})"), "1:7: 'None' has no attribute 'x'");
  EXPECT_EQ(render_error("{{ a + 1 }}"), "1:6: 'a' is undefined");
  EXPECT_EQ(render_error("{{ a | tojson }}"), "1:6: 'a' is undefined");
  EXPECT_EQ(render_error("{{ a() }}"), "1:4: 'a' is undefined");
}

TEST(JinjaErrors, TypeErrors) {
  EXPECT_EQ(render_error("{{ 'a' + 1 }}"), "1:8: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(render_error("{{ 'a' < 1 }}"), "1:4: '<' not supported between instances of 'str' and 'int'");
  EXPECT_EQ(render_error("{{ 1 / 0 }}"), "1:6: division by zero");
  EXPECT_EQ(render_error("{% for x in 3 %}{% endfor %}"), "1:13: 'int' object is not iterable");
  EXPECT_EQ(render_error("{{ 'x'() }}"), "1:4: 'str' object is not callable");
  EXPECT_EQ(render_error("{% set a, b = [1] %}"), "1:1: cannot unpack 1 values into 2 names");
  EXPECT_EQ(render_error("{% set s = 'x' %}{% set s.y = 1 %}"),
            "1:18: cannot assign attribute on non-namespace object 's'");
  EXPECT_EQ(render_error("{% set d = {'a': 1} %}{% set d.b = 2 %}"),
            "1:23: cannot assign attribute on non-namespace object 'd'");
  EXPECT_EQ(render_error("{% break %}"), "1:1: 'break' outside a for loop");
}

TEST(JinjaErrors, VariablesMustBeAnObject) {
  auto compiled = Template::parse("x");
  ASSERT_TRUE(compiled);
  auto rendered = compiled->render(nlohmann::ordered_json::array());
  ASSERT_FALSE(rendered);
  EXPECT_EQ(rendered.error().message, "template variables must be a JSON object");
}

}  // namespace
}  // namespace llmc::data::jinja
