// tools/llmc/byte_size.cpp - sizes on the command line: "5GB", "512MiB", "1.5G", "1000".
#include <cctype>
#include <cmath>
#include <string>

#include "commands.h"

namespace llmc::cli {

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  size_t end = 0;
  double number = 0;
  try {
    number = std::stod(text, &end);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit;
  for (char c : text.substr(end))
    if (!std::isspace(static_cast<unsigned char>(c))) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KB") scale = 1e3;
  else if (unit == "M" || unit == "MB") scale = 1e6;
  else if (unit == "G" || unit == "GB") scale = 1e9;
  else if (unit == "T" || unit == "TB") scale = 1e12;
  else if (unit == "KIB") scale = 1024.0;
  else if (unit == "MIB") scale = 1024.0 * 1024;
  else if (unit == "GIB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "TIB") scale = 1024.0 * 1024 * 1024 * 1024;
  if (scale == 0 || number < 0 || !std::isfinite(number)) return std::nullopt;
  return static_cast<uint64_t>(std::llround(number * scale));
}

}  // namespace llmc::cli
