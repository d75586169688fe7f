// tests/unit/data/chat_template_fixture_test.cpp - every reference rendering of make_chat_template_fixtures.py
// (transformers' renderer on the public templates of SmolLM2, Llama 2/3/3.1/3.2, Mistral, Qwen2/2.5/3),
// reproduced byte for byte, errors included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/chat_template.h"
#include "support/python_fixture.h"

namespace llmc::data {
namespace {

using ::testing::HasSubstr;

const nlohmann::ordered_json& fixtures() {
  static const nlohmann::ordered_json json = [] {
    auto dir = test::python_fixture(
        std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/data/make_chat_template_fixtures.py", "chat_templates");
    if (!dir) {
      ADD_FAILURE() << dir.error().message;
      return nlohmann::ordered_json();
    }
    return nlohmann::ordered_json::parse(test::read_text(*dir / "chat_templates.json"));
  }();
  return json;
}

TEST(ChatTemplateFixtures, EveryCaseRendersAsTransformers) {
  const auto& json = fixtures();
  ASSERT_TRUE(json.contains("cases"));
  std::map<std::string, ChatTemplate> templates;
  for (const auto& [name, entry] : json["templates"].items()) {
    auto compiled =
        ChatTemplate::parse(entry["source"].get<std::string>(), entry["special_tokens"].get<SpecialTokens>(), name);
    ASSERT_TRUE(compiled) << compiled.error().message;
    templates.emplace(name, std::move(*compiled));
  }
  size_t rendered = 0;
  size_t failed = 0;
  for (const auto& test_case : json["cases"]) {
    const std::string name = test_case["name"];
    SCOPED_TRACE(name);
    const ChatTemplate& chat_template = templates.at(test_case["template"].get<std::string>());
    auto result = chat_template.render(test_case["messages"], test_case["add_generation_prompt"].get<bool>(),
                                       test_case["variables"]);
    if (test_case.contains("error")) {
      ASSERT_FALSE(result) << "rendered where transformers fails: " << *result;
      EXPECT_THAT(result.error().message, HasSubstr(test_case["error"].get<std::string>()));
      ++failed;
    } else {
      ASSERT_TRUE(result) << result.error().message;
      EXPECT_EQ(*result, test_case["expected"].get<std::string>());
      ++rendered;
    }
  }
  EXPECT_GT(rendered, 150u);
  EXPECT_GT(failed, 5u);
}

}  // namespace
}  // namespace llmc::data
