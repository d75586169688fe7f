// tests/unit/support/python_fixture.cpp
#include "support/python_fixture.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

namespace llmc::test {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Expected<fs::path> python_fixture(const fs::path& script, std::string_view name) {
  const std::string source = read_text(script);
  if (source.empty()) return Error{fmt::format("cannot read {}", script.string())};
  const fs::path dir = fs::path(LLMC_BINARY_DIR) / "test-fixtures" /
                       fmt::format("{}-{:016x}", name, std::hash<std::string>{}(source));
  const fs::path done = dir / ".complete";
  if (fs::exists(done)) return dir;

  fs::path staging = dir;
  staging += fmt::format(".tmp-{}", ::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging);
  const fs::path log = staging.string() + ".log";
  const std::string command =
      fmt::format("'{}' '{}' '{}' > '{}' 2>&1", LLMC_PYTHON, script.string(), staging.string(), log.string());
  const int status = std::system(command.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string output = read_text(log);
    fs::remove_all(staging, ec);
    fs::remove(log, ec);
    return Error{fmt::format("{} failed (is the reference stack in {}? tools/setup.sh --reference):\n{}",
                             script.filename().string(), LLMC_PYTHON, output)};
  }
  fs::remove(log, ec);
  std::ofstream(staging / ".complete") << "ok\n";
  fs::rename(staging, dir, ec);
  if (ec && !fs::exists(done)) {  // a stale, incomplete directory from an interrupted run: replace it
    fs::remove_all(dir, ec);
    fs::rename(staging, dir, ec);
  }
  if (ec) fs::remove_all(staging, ec);  // a concurrent test process made it first
  if (!fs::exists(done)) return Error{fmt::format("cannot create {}", dir.string())};
  return dir;
}

}  // namespace llmc::test
