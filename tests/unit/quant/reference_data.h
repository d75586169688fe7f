// tests/unit/quant/reference_data.h - the reference cases of make_reference_cases.py (generated once per
// version of the script, cached under the build dir) and byte-exact tensor comparison.
#pragma once

#include "support/reference_cases.h"

namespace llmc::quant::testing {

using ReferenceData = test::ReferenceCases;
using test::byte_difference;

/// The reference cases; an empty case list after recording a test failure when they cannot be made.
const ReferenceData& reference_data();

}  // namespace llmc::quant::testing
