// core/data/jinja_renderer.h - evaluates a parsed template: scopes as Jinja2 has them (a for loop's body
// gets a fresh scope per iteration; if and set do not open one), loop variables, macros, break/continue.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/jinja_ast.h"
#include "data/jinja_value.h"
#include "util/expected.h"

namespace llmc::data::jinja {

/// Renders `body` with `variables` as the template's context (besides the global functions, which they
/// may shadow). Errors read "line:column: what".
Expected<std::string> render(const Body& body, std::vector<std::pair<std::string, Value>> variables);

}  // namespace llmc::data::jinja
