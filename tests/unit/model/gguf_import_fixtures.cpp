// tests/unit/model/gguf_import_fixtures.cpp
#include "gguf_import_fixtures.h"

#include <gtest/gtest.h>

#include <iostream>

#include "support/python_fixture.h"

namespace llmc::model::testing {

std::filesystem::path gguf_import_fixtures() {
  auto dir = test::python_fixture(
      std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/model/make_gguf_import_fixtures.py", "gguf-import");
  if (!dir) {
    std::cerr << dir.error().message << "\n";
    return {};
  }
  return *dir;
}

std::unique_ptr<GgufFile> open_gguf_import_fixture(std::string_view name) {
  const auto dir = gguf_import_fixtures();
  if (dir.empty()) {
    ADD_FAILURE() << "make_gguf_import_fixtures.py failed";
    return nullptr;
  }
  auto file = GgufFile::open(dir / name);
  if (!file) {
    ADD_FAILURE() << file.error().message;
    return nullptr;
  }
  return std::move(*file);
}

}  // namespace llmc::model::testing
