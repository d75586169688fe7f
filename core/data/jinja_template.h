// core/data/jinja_template.h - a Jinja template (the subset chat templates use), parsed once and rendered
// many times, with the environment transformers uses: trim_blocks, lstrip_blocks, no autoescape,
// raise_exception, strftime_now and a tojson that keeps non-ASCII text.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "data/jinja_ast.h"
#include "data/jinja_lexer.h"
#include "util/expected.h"

namespace llmc::data::jinja {

class Template {
 public:
  /// Syntax errors read "line:column: what".
  static Expected<Template> parse(std::string_view source, const LexerOptions& options = {});

  /// Renders with the keys of `variables` (a JSON object) as the template's variables. Errors read
  /// "line:column: what" (an undefined value used, a type error, raise_exception's message).
  Expected<std::string> render(const nlohmann::ordered_json& variables) const;

 private:
  explicit Template(std::shared_ptr<const Body> body) : body_(std::move(body)) {}

  std::shared_ptr<const Body> body_;
};

}  // namespace llmc::data::jinja
