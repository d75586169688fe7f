// core/data/tokenizer.h - a Hugging Face tokenizer.json (BPE: byte-level like GPT-2, Llama-3, Qwen2, SmolLM2,
// or SentencePiece-style like Llama-2 and Mistral) that encodes and decodes exactly as the `tokenizers` library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace llmc::data {

/// Immutable once loaded; encode and decode may run on several threads at once.
///
/// The pipeline is tokenizers' own: added tokens are split out of the raw text, the rest is normalized (and
/// split again on normalized added tokens), pre-tokenized into words, each word BPE-encoded, and the
/// post-processor's special tokens are put around the result. The file's `truncation` and `padding` are not
/// applied. Text that is not valid UTF-8 is read with U+FFFD for its invalid bytes.
class Tokenizer {
 public:
  /// Reads `tokenizer_json`; every error names the file and, where one is at fault, the JSON path (for
  /// example `tokenizer.json: pre_tokenizer.pretokenizers[1].type "Foo" is not supported (supported: ...)`).
  static Expected<Tokenizer> load(const std::filesystem::path& tokenizer_json);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// The ids of `text`; with `add_special_tokens`, framed by the post-processor's special tokens (BOS, ...).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  /// The text of `ids` through the decoder; unknown ids are skipped, and special added tokens too when
  /// `skip_special_tokens`.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  /// The id of a token of the vocabulary or an added token.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  /// The token with `id` (an added token first, as tokenizers looks it up).
  std::optional<std::string> id_to_token(int32_t id) const;
  /// Whether `id` is a special added token (those decode skips on request).
  bool is_special(int32_t id) const;
  /// The vocabulary's size, added tokens included (those the vocabulary already has counted once).
  std::size_t vocab_size() const;

  /// The ids the post-processor puts before and after a single sequence (empty when none).
  std::span<const int32_t> special_prefix() const;
  std::span<const int32_t> special_suffix() const;
  /// The first id of special_prefix() (BOS), the last of special_suffix() (EOS), if any.
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;

 private:
  struct Parts;
  explicit Tokenizer(std::unique_ptr<Parts> parts);

  std::unique_ptr<Parts> parts_;
};

}  // namespace llmc::data
