// tests/unit/recipe/recipe_test_util.h - helpers shared by the recipe tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "recipe/recipe.h"

namespace llmc::recipe::testing {

/// The parsed recipe, or nullopt after recording the error as a test failure.
inline std::optional<Recipe> parse_ok(std::string_view text) {
  auto recipe = parse_recipe_string(text, "r.toml");
  if (!recipe) {
    ADD_FAILURE() << recipe.error().message;
    return std::nullopt;
  }
  return std::move(*recipe);
}

/// The parse error's message, or "<parsed>" when the recipe parses.
inline std::string parse_error(std::string_view text) {
  auto recipe = parse_recipe_string(text, "r.toml");
  return recipe ? std::string("<parsed>") : recipe.error().message;
}

}  // namespace llmc::recipe::testing
