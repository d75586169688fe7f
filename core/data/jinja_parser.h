// core/data/jinja_parser.h - builds the statement tree of a template from its tokens (Jinja2's grammar and
// operator precedence).
#pragma once

#include <vector>

#include "data/jinja_ast.h"
#include "data/jinja_lexer.h"
#include "util/expected.h"

namespace llmc::data::jinja {

/// Errors read "line:column: what" (an unknown tag, an unclosed block, an unexpected token).
Expected<Body> parse(const std::vector<Token>& tokens);

}  // namespace llmc::data::jinja
