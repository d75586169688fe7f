// tests/unit/exec/exec_test_support.h - the tiny models and transformers logits of make_exec_fixtures.py,
// made once per script version under the build directory.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace llmc::exec::testing {

/// The fixture directory; empty when the script failed (its output is printed).
std::filesystem::path fixture_dir();

/// The cases of cases.json.
std::vector<std::string> fixture_cases();

/// Every tensor of a safetensors file, copied, by name (fails the test on a read error).
std::map<std::string, at::Tensor> read_tensors(const std::filesystem::path& path);

}  // namespace llmc::exec::testing
