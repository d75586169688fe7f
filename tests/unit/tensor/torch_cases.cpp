// tests/unit/tensor/torch_cases.cpp
#include "tensor/torch_cases.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

#include "support/python_fixture.h"

namespace llmc::test {
namespace fs = std::filesystem;

FileBytes read_file(const fs::path& path) {
  FileBytes bytes;
  const std::string content = read_text(path);
  bytes.size = content.size();
  bytes.storage.resize((content.size() + 7) / 8);
  std::copy(content.begin(), content.end(), reinterpret_cast<char*>(bytes.storage.data()));
  return bytes;
}

fs::path torch_convert_cases(std::string& error) {
  auto dir = python_fixture(fs::path(LLMC_SOURCE_DIR) / "tests/unit/tensor/make_convert_cases.py", "convert-cases");
  if (!dir) {
    error = dir.error().message;
    return {};
  }
  return *dir;
}

}  // namespace llmc::test
