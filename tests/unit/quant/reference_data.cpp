// tests/unit/quant/reference_data.cpp - the reference cases of make_reference_cases.py.
#include "quant/reference_data.h"

#include <filesystem>

namespace llmc::quant::testing {

const ReferenceData& reference_data() {
  static const ReferenceData data = test::load_reference_cases(
      std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/quant/make_reference_cases.py", "quant");
  return data;
}

}  // namespace llmc::quant::testing
