// core/data/tokenizer.cpp
#include "data/tokenizer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/added_vocabulary.h"
#include "data/bpe_model.h"
#include "data/normalizer.h"
#include "data/post_processor.h"
#include "data/pre_tokenizer.h"
#include "data/token_decoder.h"
#include "data/tokenizer_json.h"
#include "data/utf8.h"
#include "util/read_file.h"

namespace llmc::data {

struct Tokenizer::Parts {
  std::unique_ptr<const Normalizer> normalizer;      // may be null
  std::unique_ptr<const PreTokenizer> pre_tokenizer;  // may be null
  BpeModel model;
  AddedVocabulary added;
  PostProcessor post_processor;
  std::unique_ptr<const TokenDecoder> decoder;  // may be null
  std::size_t vocab_size;                       // the model's, plus the added tokens it does not have
};

namespace {

// A component that may be null in the file: null stays null, anything else must parse.
template <class Component>
Expected<std::unique_ptr<const Component>> parse_optional(const JsonNode& node) {
  if (node.is_null()) return std::unique_ptr<const Component>();
  return Component::parse(node);
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Expected<Tokenizer> Tokenizer::load(const std::filesystem::path& tokenizer_json) {
  const std::string file = tokenizer_json.string();
  auto content = read_file(tokenizer_json, "the tokenizer");
  LLMC_TRY(content);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(*content);
  } catch (const nlohmann::json::parse_error& error) {
    return Error{fmt::format("{}: not valid JSON: {}", file, error.what())};
  }
  const JsonNode root(json, file, "");
  if (!json.is_object()) return root.error("must hold a JSON object");
  if (const JsonNode version = root["version"]; !version.is_null() && version.value() != "1.0")
    return version.error(fmt::format("{} is not supported (supported: \"1.0\")", version.value().dump()));

  auto normalizer = parse_optional<Normalizer>(root["normalizer"]);
  if (!normalizer) return normalizer.error();
  auto pre_tokenizer = parse_optional<PreTokenizer>(root["pre_tokenizer"]);
  if (!pre_tokenizer) return pre_tokenizer.error();
  auto model = BpeModel::parse(root["model"]);
  if (!model) return model.error();
  auto added = AddedVocabulary::parse(root["added_tokens"], *model, normalizer->get());
  if (!added) return added.error();
  auto post_processor = PostProcessor::parse(root["post_processor"]);
  if (!post_processor) return post_processor.error();
  auto decoder = parse_optional<TokenDecoder>(root["decoder"]);
  if (!decoder) return decoder.error();
  std::size_t vocab_size = model->vocab_size();
  for (const auto& [content, id] : added->ids_by_content())
    if (!model->token_to_id(content)) ++vocab_size;
  auto parts = std::make_unique<Parts>(Parts{std::move(*normalizer), std::move(*pre_tokenizer), std::move(*model),
                                             std::move(*added), std::move(*post_processor), std::move(*decoder),
                                             vocab_size});
  return Tokenizer(std::move(parts));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string valid_text;
  if (!is_valid_utf8(text)) {
    valid_text = utf8_lossy(text);
    text = valid_text;
  }
  const PostProcessor& frame = parts_->post_processor;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (add_special_tokens) ids.insert(ids.end(), frame.prefix.begin(), frame.prefix.end());
  for (TextSegment& segment : parts_->added.split(text, parts_->normalizer.get())) {
    if (segment.token_id) {
      ids.push_back(*segment.token_id);
      continue;
    }
    std::vector<PreToken> pieces;
    pieces.push_back({std::move(segment.text), segment.at_text_start});
    if (parts_->pre_tokenizer) pieces = parts_->pre_tokenizer->pre_tokenize(std::move(pieces));
    for (const PreToken& piece : pieces) parts_->model.tokenize(piece.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), frame.suffix.begin(), frame.suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    const std::string* token = parts_->added.id_to_token(id);
    if (token == nullptr) token = parts_->model.id_to_token(id);
    if (token == nullptr || (skip_special_tokens && parts_->added.is_special(*token))) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (!parts_->decoder) {  // tokenizers joins the tokens with spaces
    for (std::size_t i = 0; i < tokens.size(); ++i) text += (i == 0 ? "" : " ") + tokens[i];
    return text;
  }
  for (const std::string& piece : parts_->decoder->decode_chain(std::move(tokens))) text += piece;
  return text;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = parts_->added.token_to_id(token)) return id;
  return parts_->model.token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  const std::string* token = parts_->added.id_to_token(id);
  if (token == nullptr) token = parts_->model.id_to_token(id);
  if (token == nullptr) return std::nullopt;
  return *token;
}

bool Tokenizer::is_special(int32_t id) const {
  const std::string* token = parts_->added.id_to_token(id);
  return token != nullptr && parts_->added.is_special(*token);
}

std::size_t Tokenizer::vocab_size() const { return parts_->vocab_size; }

std::span<const int32_t> Tokenizer::special_prefix() const { return parts_->post_processor.prefix; }
std::span<const int32_t> Tokenizer::special_suffix() const { return parts_->post_processor.suffix; }

std::optional<int32_t> Tokenizer::bos_id() const {
  if (parts_->post_processor.prefix.empty()) return std::nullopt;
  return parts_->post_processor.prefix.front();
}

std::optional<int32_t> Tokenizer::eos_id() const {
  if (parts_->post_processor.suffix.empty()) return std::nullopt;
  return parts_->post_processor.suffix.back();
}

}  // namespace llmc::data
