// core/recipe/source_location.h - where in a recipe file a value was written.
#pragma once

#include <string>

namespace llmc::recipe {

struct SourceLocation {
  std::string file;  // the recipe's display name (its path, or a label for an in-memory recipe)
  int line = 0;      // 1-based
  int column = 0;    // 1-based

  /// "file:line:column", the prefix of every recipe error.
  std::string str() const;
};

}  // namespace llmc::recipe
