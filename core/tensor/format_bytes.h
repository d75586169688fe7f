// core/tensor/format_bytes.h - byte counts for people: "512 B", "64.0 MiB", "1.5 GiB".
#pragma once

#include <cstdint>
#include <string>

namespace llmc {

/// Binary units (KiB = 1024 B) with one decimal; plain bytes below 1 KiB.
std::string format_bytes(uint64_t bytes);

}  // namespace llmc
