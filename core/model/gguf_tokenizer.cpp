// core/model/gguf_tokenizer.cpp
#include "model/gguf_tokenizer.h"

#include <array>
#include <unordered_map>

#include <fmt/format.h>

#include "model/gguf_metadata.h"
#include "util/log.h"

namespace llmc::model {
namespace {

using Json = nlohmann::ordered_json;

// llama.cpp's token types (llama_token_type).
constexpr int64_t kTokenTypeControl = 3;
constexpr int64_t kTokenTypeUserDefined = 4;

Json byte_level(bool trim_offsets, bool use_regex) {
  return Json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", trim_offsets},
              {"use_regex", use_regex}};
}

Json split_isolated(std::string_view regex) {
  return Json{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

// The regexes of llama.cpp's pre-tokenizer types, as the models' own tokenizer.json files spell them.
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// What one tokenizer.ggml.pre value means on the Hugging Face side.
struct PreTokenizerRow {
  std::string_view gguf_pre;
  Json (*normalizer)();
  Json (*pre_tokenizer)();
  bool ignore_merges;    // a word that is a vocabulary token is taken whole (Llama 3)
  bool default_add_bos;  // llama.cpp's add_bos when tokenizer.ggml.add_bos_token is absent
};

Json no_normalizer() { return nullptr; }
Json nfc_normalizer() { return Json{{"type", "NFC"}}; }
// GPT-2's regex, inside the ByteLevel pre-tokenizer.
Json gpt2_pre_tokenizer() { return byte_level(true, true); }
// llama.cpp's "smollm"/"starcoder": every digit alone ("\p{N}"), then GPT-2's regex, as in SmolLM2's and
// StarCoder's own tokenizer.json.
Json digits_pre_tokenizer() {
  return Json{{"type", "Sequence"},
              {"pretokenizers", Json::array({Json{{"type", "Digits"}, {"individual_digits", true}},
                                             byte_level(true, true)})}};
}
Json llama3_pre_tokenizer() {
  return Json{{"type", "Sequence"}, {"pretokenizers", Json::array({split_isolated(kLlama3Regex), byte_level(true, false)})}};
}
Json qwen2_pre_tokenizer() {
  return Json{{"type", "Sequence"}, {"pretokenizers", Json::array({split_isolated(kQwen2Regex), byte_level(false, false)})}};
}

constexpr std::array kPreTokenizers = {
    PreTokenizerRow{"default", no_normalizer, gpt2_pre_tokenizer, false, false},
    PreTokenizerRow{"gpt2", no_normalizer, gpt2_pre_tokenizer, false, false},
    PreTokenizerRow{"smollm", no_normalizer, digits_pre_tokenizer, false, false},
    PreTokenizerRow{"starcoder", no_normalizer, digits_pre_tokenizer, false, false},
    PreTokenizerRow{"llama-bpe", no_normalizer, llama3_pre_tokenizer, true, true},
    PreTokenizerRow{"qwen2", nfc_normalizer, qwen2_pre_tokenizer, false, false},
};

Error key_error(const GgufFile& file, std::string_view key, std::string_view why) {
  return Error{fmt::format("{}: the metadata key '{}' {}", file.path().string(), key, why)};
}

Expected<const PreTokenizerRow*> find_pre_tokenizer(const GgufFile& file) {
  auto pre = optional_string(file, "tokenizer.ggml.pre");
  if (!pre) return pre.error();
  const std::string name = pre->value_or("default");
  for (const auto& row : kPreTokenizers)
    if (row.gguf_pre == name) return &row;
  return key_error(file, "tokenizer.ggml.pre",
                   fmt::format("is '{}', a pre-tokenizer llmc does not convert (supported: {})", name,
                               supported_gguf_pre_tokenizers()));
}

// A TemplateProcessing post-processor: [BOS] $A [EOS], and for pairs the same again with type id 1.
Expected<Json> post_processor(const GgufFile& file, const std::vector<std::string>& tokens,
                              const GgufModelConfig& config, bool add_bos, bool add_eos) {
  std::vector<std::pair<std::string, int64_t>> specials;
  const auto require = [&](const std::optional<int64_t>& id, std::string_view id_key,
                           std::string_view flag_key) -> Expected<std::string> {
    if (!id) return key_error(file, id_key, fmt::format("is missing, but '{}' is true", flag_key));
    const std::string& token = tokens[static_cast<size_t>(*id)];
    if (specials.empty() || specials.back().first != token) specials.emplace_back(token, *id);
    return token;
  };
  std::optional<std::string> bos, eos;
  if (add_bos) {
    auto token = require(config.bos_token_id, "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token");
    if (!token) return token.error();
    bos = *token;
  }
  if (add_eos) {
    auto token = require(config.eos_token_id, "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_eos_token");
    if (!token) return token.error();
    eos = *token;
  }
  const auto sequence = [](int type_id, std::string_view which) {
    return Json{{"Sequence", {{"id", which}, {"type_id", type_id}}}};
  };
  const auto special = [](int type_id, const std::string& token) {
    return Json{{"SpecialToken", {{"id", token}, {"type_id", type_id}}}};
  };
  Json single = Json::array(), pair = Json::array();
  for (int type_id = 0; type_id < 2; ++type_id) {
    Json& target = type_id == 0 ? single : pair;
    if (bos) target.push_back(special(type_id, *bos));
    target.push_back(sequence(type_id, type_id == 0 ? "A" : "B"));
    if (eos) target.push_back(special(type_id, *eos));
  }
  pair.insert(pair.begin(), single.begin(), single.end());
  Json special_tokens = Json::object();
  for (const auto& [token, id] : specials)
    special_tokens[token] = Json{{"id", token}, {"ids", {id}}, {"tokens", {token}}};
  return Json{{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special_tokens}};
}

// The vocabulary in id order. A token spelled twice keeps its last id, as transformers' converter does.
Json vocabulary(const std::vector<std::string>& tokens, std::unordered_map<std::string_view, int64_t>& ids,
                const GgufFile& file) {
  for (size_t id = 0; id < tokens.size(); ++id) {
    const auto [it, inserted] = ids.try_emplace(tokens[id], static_cast<int64_t>(id));
    if (!inserted) {
      log::warning("{}: token {} repeats token {} ('{}'); the vocabulary keeps id {}", file.path().string(), id,
                   it->second, tokens[id], id);
      it->second = static_cast<int64_t>(id);
    }
  }
  Json vocab = Json::object();
  auto& entries = vocab.get_ref<Json::object_t&>();
  entries.reserve(ids.size());
  for (size_t id = 0; id < tokens.size(); ++id)  // ordered_map's own insert searches linearly: append instead
    if (ids.at(tokens[id]) == static_cast<int64_t>(id)) entries.emplace_back(tokens[id], static_cast<int64_t>(id));
  return vocab;
}

Expected<Json> merge_list(const GgufFile& file, const std::unordered_map<std::string_view, int64_t>& ids) {
  constexpr std::string_view kKey = "tokenizer.ggml.merges";
  auto merges = require_array(file, kKey, GgufValueType::STRING);
  if (!merges) return merges.error();
  Json list = Json::array();
  list.get_ref<Json::array_t&>().reserve((*merges)->size());
  std::string joined;
  for (size_t i = 0; i < (*merges)->size(); ++i) {
    const std::string& merge = *(**merges)[i].as_string();
    const size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string::npos)
      return key_error(file, kKey, fmt::format("has the malformed merge {} '{}' (expected 'left right')", i, merge));
    const std::string_view left = std::string_view(merge).substr(0, space);
    const std::string_view right = std::string_view(merge).substr(space + 1);
    joined.assign(left);
    joined.append(right);
    for (const std::string_view part : {left, right, std::string_view(joined)})
      if (!ids.contains(part))
        return key_error(file, kKey, fmt::format("has merge {} '{}', but '{}' is not in the vocabulary", i, merge, part));
    list.push_back(Json::array({left, right}));
  }
  return list;
}

Expected<std::vector<std::string>> read_tokens(const GgufFile& file, const GgufModelConfig& config) {
  auto values = require_array(file, "tokenizer.ggml.tokens", GgufValueType::STRING);
  if (!values) return values.error();
  if (static_cast<int64_t>((*values)->size()) != config.vocab_size)
    return key_error(file, "tokenizer.ggml.tokens", fmt::format("has {} tokens, but the model's vocabulary has {}",
                                                                (*values)->size(), config.vocab_size));
  std::vector<std::string> tokens;
  tokens.reserve((*values)->size());
  for (const auto& value : **values) tokens.push_back(*value.as_string());
  return tokens;
}

Json added_token(int64_t id, const std::string& content, bool special) {
  return Json{{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
              {"normalized", false}, {"special", special}};
}

}  // namespace

std::string supported_gguf_pre_tokenizers() {
  std::string names;
  for (const auto& row : kPreTokenizers) names += fmt::format("{}{}", names.empty() ? "" : ", ", row.gguf_pre);
  return names + " (or no tokenizer.ggml.pre)";
}

Expected<HfTokenizerFiles> convert_gguf_tokenizer(const GgufFile& file, const GgufModelConfig& config) {
  auto model = require_string(file, "tokenizer.ggml.model");
  if (!model) return model.error();
  if (*model != "gpt2")
    return key_error(file, "tokenizer.ggml.model",
                     fmt::format("is '{}', a tokenizer model llmc does not convert (supported: gpt2, the byte-level "
                                 "BPE of GPT-2, Llama 3, Qwen and SmolLM)", *model));
  auto pre = find_pre_tokenizer(file);
  if (!pre) return pre.error();
  auto tokens = read_tokens(file, config);
  if (!tokens) return tokens.error();
  auto types = optional_array(file, "tokenizer.ggml.token_type", GgufValueType::INT32);
  if (!types) return types.error();
  if (*types && (*types)->size() != tokens->size())
    return key_error(file, "tokenizer.ggml.token_type",
                     fmt::format("has {} entries for {} tokens", (*types)->size(), tokens->size()));
  auto add_bos = optional_bool(file, "tokenizer.ggml.add_bos_token");
  if (!add_bos) return add_bos.error();
  auto add_eos = optional_bool(file, "tokenizer.ggml.add_eos_token");
  if (!add_eos) return add_eos.error();
  auto chat_template = optional_string(file, "tokenizer.chat_template");
  if (!chat_template) return chat_template.error();

  std::unordered_map<std::string_view, int64_t> ids;
  Json vocab = vocabulary(*tokens, ids, file);
  auto merges = merge_list(file, ids);
  if (!merges) return merges.error();

  Json added_tokens = Json::array();
  if (*types) {
    for (size_t id = 0; id < tokens->size(); ++id) {
      const int64_t type = (**types)[id].as_int().value_or(0);
      if (type == kTokenTypeControl || type == kTokenTypeUserDefined)
        added_tokens.push_back(added_token(static_cast<int64_t>(id), (*tokens)[id], type == kTokenTypeControl));
    }
  }
  const bool bos = add_bos->value_or((*pre)->default_add_bos);
  const bool eos = add_eos->value_or(false);
  auto post = post_processor(file, *tokens, config, bos, eos);
  if (!post) return post.error();

  const auto token_or_null = [&](const std::optional<int64_t>& id) {
    return id ? Json((*tokens)[static_cast<size_t>(*id)]) : Json();
  };
  const std::optional<std::string> unk = config.unk_token_id
                                             ? std::optional((*tokens)[static_cast<size_t>(*config.unk_token_id)])
                                             : std::nullopt;
  HfTokenizerFiles files;
  files.tokenizer = Json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added_tokens)},
      {"normalizer", (*pre)->normalizer()},
      {"pre_tokenizer", (*pre)->pre_tokenizer()},
      {"post_processor", std::move(*post)},
      {"decoder", Json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", Json{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", unk ? Json(*unk) : Json()},
                     {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", false},
                     {"byte_fallback", false}, {"ignore_merges", (*pre)->ignore_merges},
                     {"vocab", std::move(vocab)}, {"merges", std::move(*merges)}}},
  };
  // Keys sorted, as transformers writes them. PreTrainedTokenizerFast loads tokenizer.json as it is in
  // transformers 4 and 5 alike (5 names the class TokenizersBackend, which 4 does not know).
  files.tokenizer_config = Json{
      {"add_bos_token", bos},
      {"add_eos_token", eos},
      {"add_prefix_space", false},
      {"backend", "tokenizers"},
      {"bos_token", token_or_null(config.bos_token_id)},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", token_or_null(config.eos_token_id)},
      {"model_max_length", config.context_length},
      {"pad_token", token_or_null(config.pad_token_id)},
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"unk_token", token_or_null(config.unk_token_id)},
  };
  files.chat_template = std::move(*chat_template);
  return files;
}

}  // namespace llmc::model
