// core/data/bpe_model.cpp
#include "data/bpe_model.h"

#include <limits>
#include <mutex>
#include <queue>

#include <fmt/format.h>

#include "data/utf8.h"

namespace llmc::data {
namespace {

constexpr std::size_t kCacheCapacity = 100'000;  // words
constexpr std::size_t kMaxCachedWordBytes = 256;  // as tokenizers: long words are rare and would crowd the cache

// One symbol of a word being merged: a doubly linked list over a vector, as in tokenizers' Word.
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed = false;
};

// A candidate merge of the symbol at `pos` with the next one; the lowest rank, then the leftmost, goes first.
struct Candidate {
  uint32_t rank;
  int32_t pos;
  int32_t merged_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

// The two tokens of one entry of `merges`: "a b" or ["a", "b"]; nullopt when it is neither.
std::optional<std::pair<std::string, std::string>> parse_merge(const nlohmann::json& entry) {
  if (entry.is_string()) {
    const auto& line = entry.get_ref<const std::string&>();
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) return std::nullopt;
    return std::pair{line.substr(0, space), line.substr(space + 1)};
  }
  if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string())
    return std::pair{entry[0].get<std::string>(), entry[1].get<std::string>()};
  return std::nullopt;
}

}  // namespace

struct BpeModel::Cache {
  std::mutex mutex;
  StringMap<std::vector<int32_t>> ids_by_word;
};

BpeModel::BpeModel() : cache_(std::make_unique<Cache>()) {}
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;
BpeModel::~BpeModel() = default;

Expected<BpeModel> BpeModel::parse(const JsonNode& node) {
  if (!node.value().is_object()) return node.error(node.is_null() ? "is missing" : "must be an object");
  // Old files leave out the type; a BPE is still recognizable by its merges.
  if (const JsonNode type = node["type"]; type.is_null() ? node["merges"].is_null() : type.value() != "BPE")
    return node.unsupported_type("BPE");
  if (const JsonNode dropout = node["dropout"]; !dropout.is_null() && !(dropout.value().is_number() &&
                                                                        dropout.value().get<double>() == 0.0))
    return dropout.error("is not supported: BPE dropout makes encoding random (use null)");

  BpeModel model;
  const JsonNode vocab = node["vocab"];
  if (!vocab.value().is_object()) return vocab.error(vocab.is_null() ? "is missing" : "must be an object");
  model.vocab_.reserve(vocab.value().size());
  for (auto entry = vocab.value().begin(); entry != vocab.value().end(); ++entry) {
    const nlohmann::json& id = entry.value();
    if (!id.is_number_integer() || id < 0 || id > std::numeric_limits<int32_t>::max())
      return vocab[entry.key()].error("must be an id: an integer from 0 to 2^31-1");
    model.vocab_[entry.key()] = id.get<int32_t>();
  }
  for (const auto& [token, id] : model.vocab_) model.tokens_by_id_[id] = &token;

  auto prefix = node.optional_string("continuing_subword_prefix");
  if (!prefix) return prefix.error();
  model.continuing_subword_prefix_ = prefix->value_or("");
  auto suffix = node.optional_string("end_of_word_suffix");
  if (!suffix) return suffix.error();
  model.end_of_word_suffix_ = suffix->value_or("");
  for (auto [key, flag] : {std::pair{"fuse_unk", &model.fuse_unk_}, std::pair{"byte_fallback", &model.byte_fallback_},
                           std::pair{"ignore_merges", &model.ignore_merges_}}) {
    auto value = node.boolean(key, false);
    if (!value) return value.error();
    *flag = *value;
  }
  auto unk = node.optional_string("unk_token");
  if (!unk) return unk.error();
  if (*unk) {
    auto unk_id = model.token_to_id(**unk);
    if (!unk_id) return node["unk_token"].error(fmt::format("\"{}\" is not in model.vocab", **unk));
    model.unk_id_ = *unk_id;
  }

  const JsonNode merges = node["merges"];
  if (!merges.value().is_array()) return merges.error(merges.is_null() ? "is missing" : "must be an array");
  model.merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    // Nodes (which format their JSON path) are made only for errors: Llama-3 has 280,000 merges.
    const auto pair = parse_merge(merges.value()[rank]);
    if (!pair) return merges.at(rank).error("must be a string \"a b\" or a pair of strings [\"a\", \"b\"]");
    const auto& [left, right] = *pair;
    // The merged token drops the right part's continuing-subword prefix.
    const std::size_t prefix_length = std::min(model.continuing_subword_prefix_.size(), right.size());
    const std::string merged = left + right.substr(prefix_length);
    std::optional<int32_t> ids[3];
    const std::string* parts[3] = {&left, &right, &merged};
    for (int i = 0; i < 3; ++i) {
      ids[i] = model.token_to_id(*parts[i]);
      if (!ids[i]) return merges.at(rank).error(fmt::format("names \"{}\", which is not in model.vocab", *parts[i]));
    }
    // A repeated pair keeps its last rank, as in tokenizers' map of merges.
    model.merges_[pair_key(*ids[0], *ids[1])] = Merge{static_cast<uint32_t>(rank), *ids[2]};
  }
  return model;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto found = vocab_.find(token);
  if (found == vocab_.end()) return std::nullopt;
  return found->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  const auto found = tokens_by_id_.find(id);
  return found == tokens_by_id_.end() ? nullptr : found->second;
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (ignore_merges_) {
    if (const auto id = token_to_id(word)) {
      ids.push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() < kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_->mutex);
    const auto found = cache_->ids_by_word.find(word);
    if (found != cache_->ids_by_word.end()) {
      ids.insert(ids.end(), found->second.begin(), found->second.end());
      return;
    }
  }
  std::vector<int32_t> word_ids = merge_word(word);
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  if (cacheable) {
    std::lock_guard lock(cache_->mutex);
    if (cache_->ids_by_word.size() < kCacheCapacity) cache_->ids_by_word.emplace(word, std::move(word_ids));
  }
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&](int32_t id) {
    const auto index = static_cast<int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1});
  };
  std::optional<int32_t> pending_unk;  // an unknown run waiting for the next known character (fuse_unk)
  std::string piece;
  for (std::size_t pos = 0; pos < word.size();) {
    const std::size_t begin = pos;
    next_code_point(word, pos);
    piece.clear();
    if (begin > 0) piece += continuing_subword_prefix_;
    piece.append(word.substr(begin, pos - begin));
    if (pos == word.size()) piece += end_of_word_suffix_;

    if (const auto id = token_to_id(piece)) {
      if (pending_unk) add(*std::exchange(pending_unk, std::nullopt));
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> byte_ids;
      for (const char byte : piece) {
        const auto id = token_to_id(fmt::format("<0x{:02X}>", static_cast<unsigned char>(byte)));
        if (!id) break;
        byte_ids.push_back(*id);
      }
      if (byte_ids.size() == piece.size()) {
        // As tokenizers does, a pending unknown run stays pending across the bytes.
        for (const int32_t id : byte_ids) add(id);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*pending_unk);
      pending_unk = unk_id_;
    }
  }
  if (pending_unk) add(*pending_unk);

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push_candidate = [&](int32_t pos) {
    const auto found = merges_.find(pair_key(symbols[pos].id, symbols[symbols[pos].next].id));
    if (found != merges_.end()) queue.push({found->second.rank, pos, found->second.merged_id});
  };
  for (int32_t pos = 0; pos + 1 < static_cast<int32_t>(symbols.size()); ++pos) push_candidate(pos);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.removed || left.next == -1) continue;
    // Skip a stale candidate: one of its symbols has merged since it was queued.
    const auto current = merges_.find(pair_key(left.id, symbols[left.next].id));
    if (current == merges_.end() || current->second.merged_id != top.merged_id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.merged_id;
    right.removed = true;
    left.next = right.next;
    if (right.next != -1) symbols[right.next].prev = top.pos;
    if (left.prev != -1) push_candidate(left.prev);
    if (left.next != -1) push_candidate(top.pos);
  }
  std::vector<int32_t> ids;
  for (const Symbol& symbol : symbols)
    if (!symbol.removed) ids.push_back(symbol.id);
  return ids;
}

}  // namespace llmc::data
