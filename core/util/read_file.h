// core/util/read_file.h - a whole file into memory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/expected.h"

namespace llmc {

/// The bytes of `path`. The error reads "<path>: cannot read <what>: <reason>".
Expected<std::string> read_file(const std::filesystem::path& path, std::string_view what);

}  // namespace llmc
