// core/util/read_file.cpp - a whole file into memory.
#include "util/read_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace llmc {

Expected<std::string> read_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot read {}: {}", path.string(), what, std::strerror(errno))};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{fmt::format("{}: cannot read {}: read failed", path.string(), what)};
  return text.str();
}

}  // namespace llmc
