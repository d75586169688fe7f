// core/data/jinja_lexer.h - splits a Jinja template into text and tag tokens, applying whitespace control
// (`-`, `+`) and the trim_blocks / lstrip_blocks options as Jinja2's lexer does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/expected.h"

namespace llmc::data::jinja {

/// A 1-based position in the template source.
struct SourcePos {
  int line = 1;
  int column = 1;
};

enum class TokenKind {
  kText,           // template data, whitespace control applied
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,           // identifiers and keywords
  kString,         // the unescaped value of a string literal
  kInteger,
  kFloat,
  kOperator,  // punctuation: ( ) [ ] { } . , : | ~ + - * / // % ** == != < <= > >= =
  kEnd,       // end of the template
};

struct Token {
  TokenKind kind;
  std::string text;
  SourcePos pos;
};

/// The environment options transformers renders chat templates with.
struct LexerOptions {
  bool trim_blocks = true;             // drop the first newline after a block or comment tag
  bool lstrip_blocks = true;           // drop spaces and tabs before a block or comment tag on its own line
  bool keep_trailing_newline = false;  // Jinja2's default drops one newline at the end of the template
};

/// Comments are dropped. Errors read "line:column: what".
Expected<std::vector<Token>> tokenize(std::string_view source, const LexerOptions& options = {});

}  // namespace llmc::data::jinja
