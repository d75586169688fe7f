// tests/unit/support/python_fixture.h - reference data made by a Python script of the tests, once per
// version of the script, and cached under the build directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/expected.h"

namespace llmc::test {

/// The directory `script` (a path under the source tree) fills when run as `LLMC_PYTHON script DIR`:
/// made on first use under <build>/test-fixtures/<name>-<hash of the script>, atomically (ctest runs tests
/// in parallel processes), and reused while the script is unchanged. The error carries the script's output.
Expected<std::filesystem::path> python_fixture(const std::filesystem::path& script, std::string_view name);

/// A whole file as bytes ("" when unreadable).
std::string read_text(const std::filesystem::path& path);

}  // namespace llmc::test
