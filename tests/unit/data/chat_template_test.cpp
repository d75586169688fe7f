// tests/unit/data/chat_template_test.cpp - finding a model's chat template and special tokens, and the
// variables a rendering sees.
#include "data/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "temp_files.h"

namespace llmc::data {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempFiles;

const nlohmann::ordered_json kUserMessage = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");

constexpr const char* kTokenTemplate =
    "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}"
    "{{ eos_token }}{% if add_generation_prompt %}>{% endif %}";

TEST(ChatTemplate, LoadsTheTemplateStringOfTokenizerConfig) {
  TempFiles files;
  files.write(
      "tokenizer_config.json",
      nlohmann::ordered_json({{"chat_template", kTokenTemplate}, {"bos_token", "<s>"}, {"eos_token", "</s>"}}).dump());
  auto chat_template = ChatTemplate::load(files.dir());
  ASSERT_TRUE(chat_template) << chat_template.error().message;
  auto rendered = chat_template->render(kUserMessage, true);
  ASSERT_TRUE(rendered) << rendered.error().message;
  EXPECT_EQ(*rendered, "<s>user:hi</s>>");
  EXPECT_EQ(chat_template->special_tokens(), (SpecialTokens{{"bos_token", "<s>"}, {"eos_token", "</s>"}}));
}

TEST(ChatTemplate, UsesTheDefaultOfNamedTemplates) {
  TempFiles files;
  files.write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "tools"},
                                                              {"name": "default", "template": "default"}]})");
  auto chat_template = ChatTemplate::load(files.dir());
  ASSERT_TRUE(chat_template) << chat_template.error().message;
  EXPECT_EQ(*chat_template->render(kUserMessage, false), "default");
}

TEST(ChatTemplate, ChatTemplateJinjaWinsOverTokenizerConfig) {
  TempFiles files;
  files.write("tokenizer_config.json", R"({"chat_template": "from config", "eos_token": "</s>"})");
  files.write("chat_template.jinja", "from file {{ eos_token }}\n");
  auto chat_template = ChatTemplate::load(files.dir());
  ASSERT_TRUE(chat_template) << chat_template.error().message;
  EXPECT_EQ(*chat_template->render(kUserMessage, false), "from file </s>");
}

TEST(ChatTemplate, SpecialTokensFromAddedTokenObjectsAndSpecialTokensMap) {
  TempFiles files;
  files.write("tokenizer_config.json", R"({"bos_token": {"__type": "AddedToken", "content": "<|begin|>"},
                                           "pad_token": null, "chat_template": "x"})");
  files.write("special_tokens_map.json", R"({"bos_token": "<ignored>", "eos_token": {"content": "<|end|>"}})");
  auto chat_template = ChatTemplate::load(files.dir());
  ASSERT_TRUE(chat_template) << chat_template.error().message;
  EXPECT_EQ(chat_template->special_tokens(), (SpecialTokens{{"bos_token", "<|begin|>"}, {"eos_token", "<|end|>"}}));
}

TEST(ChatTemplate, LoadErrorsNameTheFile) {
  TempFiles files;
  auto missing = ChatTemplate::load(files.dir());
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("has no chat template"));

  files.write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "x"}]})");
  auto no_default = ChatTemplate::load(files.dir());
  ASSERT_FALSE(no_default);
  EXPECT_THAT(no_default.error().message, HasSubstr("none named \"default\""));

  files.write("tokenizer_config.json", R"({"chat_template": 3})");
  auto wrong_type = ChatTemplate::load(files.dir());
  ASSERT_FALSE(wrong_type);
  EXPECT_THAT(wrong_type.error().message, HasSubstr("\"chat_template\" must be a string"));

  files.write("tokenizer_config.json", R"({"eos_token": 5, "chat_template": "x"})");
  auto bad_token = ChatTemplate::load(files.dir());
  ASSERT_FALSE(bad_token);
  EXPECT_THAT(bad_token.error().message, HasSubstr("\"eos_token\" must be a string"));

  files.write("tokenizer_config.json", "{not json");
  auto bad_json = ChatTemplate::load(files.dir());
  ASSERT_FALSE(bad_json);
  EXPECT_THAT(bad_json.error().message, HasSubstr("tokenizer_config.json: not valid JSON"));

  files.write("tokenizer_config.json", R"({"chat_template": "{% if x %}"})");
  auto bad_syntax = ChatTemplate::load(files.dir());
  ASSERT_FALSE(bad_syntax);
  EXPECT_THAT(bad_syntax.error().message, StartsWith((files.dir() / "tokenizer_config.json").string() +
                                                     " chat_template:1:11: unexpected end of template"));
}

TEST(ChatTemplate, RenderErrorsNameTheOriginAndPosition) {
  auto chat_template =
      ChatTemplate::parse("{{ raise_exception('no ' + messages[0].role) }}", {}, "model/chat_template.jinja");
  ASSERT_TRUE(chat_template);
  auto rendered = chat_template->render(kUserMessage, false);
  ASSERT_FALSE(rendered);
  EXPECT_EQ(rendered.error().message, "model/chat_template.jinja:1:4: no user");
}

TEST(ChatTemplate, VariablesOverrideSpecialTokensAndToolsDefaultToNone) {
  auto chat_template = ChatTemplate::parse("{{ bos_token }}|{{ tools is none }}|{{ documents is none }}|{{ extra }}",
                                           {{"bos_token", "<s>"}}, "t");
  ASSERT_TRUE(chat_template);
  EXPECT_EQ(*chat_template->render(kUserMessage, false), "<s>|True|True|");
  auto overridden = chat_template->render(kUserMessage, false,
                                          nlohmann::ordered_json({{"bos_token", "B"}, {"tools", {1}}, {"extra", 7}}));
  ASSERT_TRUE(overridden) << overridden.error().message;
  EXPECT_EQ(*overridden, "B|False|True|7");
}

TEST(ChatTemplate, RenderArgumentsAreChecked) {
  auto chat_template = ChatTemplate::parse("x", {}, "t");
  ASSERT_TRUE(chat_template);
  auto not_array = chat_template->render(nlohmann::ordered_json::object(), false);
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().message, "t: messages must be a JSON array");
  auto reserved = chat_template->render(kUserMessage, false, nlohmann::ordered_json({{"messages", 1}}));
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().message, "t: 'messages' is an argument of render, not a template variable");
}

}  // namespace
}  // namespace llmc::data
