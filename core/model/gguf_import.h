// core/model/gguf_import.h - `llmc import-gguf`: a GGUF file (llama.cpp) as a Hugging Face checkpoint
// directory with bf16 weights, config.json, generation_config.json and the tokenizer files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "model/safetensors_writer.h"

namespace llmc::model {

struct GgufImportOptions {
  std::filesystem::path gguf;    // the GGUF file
  std::filesystem::path output;  // the directory to create (written aside, renamed into place when complete)
  bool overwrite = false;
  bool progress = true;          // draw a progress line (only on a terminal)
  uint64_t max_shard_bytes = SafetensorsWriter::kDefaultMaxShardSize;
};

enum class GgufImportFailure {
  input,   // the GGUF file is missing, corrupt, or holds a model or tokenizer llmc does not import
  output,  // the output exists (without overwrite) or writing it failed
};

struct GgufImportError {
  GgufImportFailure failure;
  std::string message;  // names the file, and the metadata key or tensor at fault
};

struct GgufImportSummary {
  size_t tensors = 0;
  uint64_t bytes = 0;  // bytes of tensor data written
  size_t shards = 0;
  double seconds = 0;
  std::filesystem::path output;  // the final directory
};

/// Checks the whole file (architecture, hyperparameters, every tensor's name and type, the tokenizer) before
/// writing anything, then streams the tensors one chunk at a time (memory stays near the largest chunk, not
/// the model) into an OutputDirectory that appears only when complete.
std::variant<GgufImportSummary, GgufImportError> import_gguf(const GgufImportOptions& options);

}  // namespace llmc::model
