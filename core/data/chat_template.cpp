// core/data/chat_template.cpp
#include "data/chat_template.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

#include "util/read_file.h"
namespace llmc::data {
namespace {

namespace fs = std::filesystem;

// transformers' SPECIAL_TOKENS_ATTRIBUTES: the tokens apply_chat_template passes to the template.
constexpr std::array<std::string_view, 7> kSpecialTokenKeys = {"bos_token", "eos_token", "unk_token", "sep_token",
                                                               "pad_token", "cls_token", "mask_token"};

Expected<nlohmann::ordered_json> read_json(const fs::path& path) {
  auto text = read_file(path, "the file");
  if (!text) return text.error();
  auto json = nlohmann::ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Error{fmt::format("{}: not valid JSON", path.string())};
  if (!json.is_object()) return Error{fmt::format("{}: expected a JSON object", path.string())};
  return json;
}

// Adds the special tokens of `config` that `tokens` lacks.
Status add_special_tokens(const nlohmann::ordered_json& config, const fs::path& path, SpecialTokens& tokens) {
  for (std::string_view key : kSpecialTokenKeys) {
    const auto found = config.find(key);
    if (found == config.end() || found->is_null() || tokens.count(std::string(key)) > 0) continue;
    if (found->is_string()) {
      tokens.emplace(key, found->get<std::string>());
    } else if (found->is_object() && found->contains("content") && (*found)["content"].is_string()) {
      tokens.emplace(key, (*found)["content"].get<std::string>());
    } else {
      return Error{
          fmt::format("{}: \"{}\" must be a string or an object with a string \"content\"", path.string(), key)};
    }
  }
  return {};
}

// tokenizer_config.json's "chat_template": a string, or named templates of which "default" is used.
Expected<std::string> template_from_config(const nlohmann::ordered_json& value, const fs::path& path) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    for (const auto& named : value) {
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
          named["template"].is_string()) {
        return named["template"].get<std::string>();
      }
    }
    return Error{fmt::format("{}: \"chat_template\" lists named templates but none named \"default\"", path.string())};
  }
  return Error{fmt::format("{}: \"chat_template\" must be a string or a list of {{\"name\", \"template\"}} objects",
                           path.string())};
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::parse(std::string_view source, SpecialTokens special_tokens, std::string origin) {
  auto compiled = jinja::Template::parse(source);
  if (!compiled) return Error{fmt::format("{}:{}", origin, compiled.error().message)};
  return ChatTemplate(std::move(*compiled), std::move(special_tokens), std::move(origin));
}

Expected<ChatTemplate> ChatTemplate::load(const fs::path& model_dir) {
  const fs::path config_path = model_dir / "tokenizer_config.json";
  const fs::path jinja_path = model_dir / "chat_template.jinja";
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (fs::exists(config_path)) {
    auto json = read_json(config_path);
    if (!json) return json.error();
    config = std::move(*json);
  }
  SpecialTokens tokens;
  LLMC_TRY(add_special_tokens(config, config_path, tokens));
  const fs::path map_path = model_dir / "special_tokens_map.json";
  if (fs::exists(map_path)) {
    auto map = read_json(map_path);
    if (!map) return map.error();
    LLMC_TRY(add_special_tokens(*map, map_path, tokens));
  }
  if (fs::exists(jinja_path)) {
    auto source = read_file(jinja_path, "the chat template");
    if (!source) return source.error();
    return parse(*source, std::move(tokens), jinja_path.string());
  }
  const auto found = config.find("chat_template");
  if (found == config.end() || found->is_null()) {
    return Error{
        fmt::format("{} has no chat template: neither chat_template.jinja nor a \"chat_template\" in "
                    "tokenizer_config.json",
                    model_dir.string())};
  }
  auto source = template_from_config(*found, config_path);
  if (!source) return source.error();
  return parse(*source, std::move(tokens), config_path.string() + " chat_template");
}

Expected<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                           const nlohmann::ordered_json& variables) const {
  if (!messages.is_array()) return Error{fmt::format("{}: messages must be a JSON array", origin_)};
  if (!variables.is_object()) return Error{fmt::format("{}: template variables must be a JSON object", origin_)};
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  for (const auto& [key, token] : special_tokens_) context[key] = token;
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  for (const auto& [key, value] : variables.items()) {
    if (key == "messages" || key == "add_generation_prompt") {
      return Error{fmt::format("{}: '{}' is an argument of render, not a template variable", origin_, key)};
    }
    context[key] = value;
  }
  context["messages"] = messages;
  context["add_generation_prompt"] = add_generation_prompt;
  auto rendered = compiled_.render(context);
  if (!rendered) return Error{fmt::format("{}:{}", origin_, rendered.error().message)};
  return rendered;
}

}  // namespace llmc::data
