// core/data/chat_template.h - a model's chat template, rendered as transformers'
// apply_chat_template(messages, tokenize=False, add_generation_prompt=...) renders it.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "data/jinja_template.h"
#include "util/expected.h"

namespace llmc::data {

/// bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: those a tokenizer sets.
using SpecialTokens = std::map<std::string, std::string>;

class ChatTemplate {
 public:
  /// `origin` names the template in errors ("DIR/chat_template.jinja").
  static Expected<ChatTemplate> parse(std::string_view source, SpecialTokens special_tokens, std::string origin);

  /// A model directory's template, found as transformers finds it: chat_template.jinja (what transformers 5
  /// writes) before tokenizer_config.json's "chat_template" (a string, or a list of {"name", "template"}
  /// of which "default" is used). Special tokens come from tokenizer_config.json (a string or an AddedToken
  /// object's "content"), then special_tokens_map.json for those it lacks.
  static Expected<ChatTemplate> load(const std::filesystem::path& model_dir);

  /// `messages`: a JSON array of {"role", "content", ...}. `variables`: more template variables ("tools",
  /// "enable_thinking", "date_string", ...); like apply_chat_template's keyword arguments they override the
  /// special tokens, and "tools" and "documents" are none unless given. Errors name the template's origin,
  /// line and column, and what failed (raise_exception's message, for one).
  Expected<std::string> render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                               const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) const;

  const SpecialTokens& special_tokens() const { return special_tokens_; }

 private:
  ChatTemplate(jinja::Template compiled, SpecialTokens special_tokens, std::string origin)
      : compiled_(std::move(compiled)), special_tokens_(std::move(special_tokens)), origin_(std::move(origin)) {}

  jinja::Template compiled_;
  SpecialTokens special_tokens_;
  std::string origin_;
};

}  // namespace llmc::data
