// tests/unit/tensor/torch_cases.cpp
#include "tensor/torch_cases.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

namespace llmc::test {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}
}  // namespace

FileBytes read_file(const fs::path& path) {
  FileBytes bytes;
  const std::string content = slurp(path);
  bytes.size = content.size();
  bytes.storage.resize((content.size() + 7) / 8);
  std::copy(content.begin(), content.end(), reinterpret_cast<char*>(bytes.storage.data()));
  return bytes;
}

fs::path torch_convert_cases(std::string& error) {
  // ctest runs every test in its own process: the cache keeps python to one run per script version.
  const fs::path script = fs::path(LLMC_SOURCE_DIR) / "tests/unit/tensor/make_convert_cases.py";
  const std::string source = slurp(script);
  if (source.empty()) {
    error = "cannot read " + script.string();
    return {};
  }
  const fs::path root = fs::path(LLMC_BINARY_DIR) / "test-data";
  const fs::path dir = root / ("convert-cases-" + std::to_string(std::hash<std::string>{}(source)));
  if (fs::exists(dir / "done")) return dir;

  const fs::path scratch = root / ("convert-cases.tmp" + std::to_string(getpid()));
  std::error_code ec;
  fs::create_directories(scratch, ec);
  const std::string command =
      std::string("\"") + LLMC_PYTHON + "\" \"" + script.string() + "\" \"" + scratch.string() + "\"";
  if (std::system(command.c_str()) != 0) {
    fs::remove_all(scratch, ec);
    error = "failed: " + command + " (LLMC_PYTHON needs torch and numpy)";
    return {};
  }
  std::ofstream(scratch / "done") << "ok\n";
  fs::rename(scratch, dir, ec);  // atomic; a concurrent test process may have won the race
  if (ec) fs::remove_all(scratch, ec);
  if (!fs::exists(dir / "done")) {
    error = "cannot create " + dir.string();
    return {};
  }
  return dir;
}

}  // namespace llmc::test
