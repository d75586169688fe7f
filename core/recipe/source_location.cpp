// core/recipe/source_location.cpp - formatting of recipe locations.
#include "recipe/source_location.h"

#include <fmt/format.h>

namespace llmc::recipe {

std::string SourceLocation::str() const { return fmt::format("{}:{}:{}", file, line, column); }

}  // namespace llmc::recipe
