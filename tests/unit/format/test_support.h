// tests/unit/format/test_support.h - the reference checkpoints (make_reference_checkpoints.py, made once
// per script content under the build directory) and safetensors files as at::Tensors.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

namespace llmc::format::testing {

/// The script's output directory; empty when the script failed (its log is printed).
std::filesystem::path reference_dir();

/// Every tensor of a safetensors file, by name (fails the test on a read error).
std::map<std::string, at::Tensor> read_safetensors(const std::filesystem::path& path);

nlohmann::json read_json(const std::filesystem::path& path);

/// Same dtype, shape and bytes.
bool same_bytes(const at::Tensor& a, const at::Tensor& b);

}  // namespace llmc::format::testing
