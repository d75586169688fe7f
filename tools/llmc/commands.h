// tools/llmc/commands.h - the subcommands of `llmc`; each parses its own options and returns an exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::cli {

int run_oneshot_command(const std::vector<std::string>& args);
int run_plugins_command(const std::vector<std::string>& args);
int run_import_gguf_command(const std::vector<std::string>& args);
int run_eval_command(const std::vector<std::string>& args);

/// Parses "5GB", "512MiB", "1.5G", "1000" (bytes); nullopt when malformed.
std::optional<uint64_t> parse_byte_size(const std::string& text);

}  // namespace llmc::cli
