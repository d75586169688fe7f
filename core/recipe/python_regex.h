// core/recipe/python_regex.h - the Python `re` patterns of compressed-tensors "re:" targets, run on
// std::regex (ECMAScript) with Python's re.match semantics.
#pragma once

#include <regex>
#include <string>
#include <string_view>

#include "util/expected.h"

namespace llmc::recipe {

/// Rewrites a Python pattern as ECMAScript: (?P<name>...) -> (...), \A -> ^, \Z -> $, {,n} -> {0,n}, and
/// braces that Python reads literally are escaped. Python constructs std::regex lacks or reads
/// differently are errors naming them: named backreferences, lookbehind, inline flags, comments, atomic
/// groups, possessive quantifiers, conditionals, unknown escapes. Messages carry no location.
Expected<std::string> python_regex_to_ecmascript(std::string_view pattern);

/// python_regex_to_ecmascript, compiled.
Expected<std::regex> compile_python_regex(std::string_view pattern);

/// Python's re.match: the pattern must match at the start of `text` (not necessarily to its end).
bool python_re_match(const std::regex& regex, std::string_view text);

}  // namespace llmc::recipe
