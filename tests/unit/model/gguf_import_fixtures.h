// tests/unit/model/gguf_import_fixtures.h - the tiny GGUF models of make_gguf_import_fixtures.py, made once
// per version of the script under the build directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "model/gguf_file.h"

namespace llmc::model::testing {

/// The fixture directory; empty when the script failed (its output is printed).
std::filesystem::path gguf_import_fixtures();

/// Opens fixture `name` ("llama.gguf"); nullptr (and a test failure) when it cannot.
std::unique_ptr<GgufFile> open_gguf_import_fixture(std::string_view name);

}  // namespace llmc::model::testing
