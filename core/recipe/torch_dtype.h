// core/recipe/torch_dtype.h - torch dtype names as compressed-tensors writes them ("torch.float8_e4m3fn").
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace llmc::recipe {

/// The canonical "torch.<name>" of a dtype given as "<name>" or "torch.<name>", aliases included
/// ("half" -> "torch.float16"); nullopt for a name torch does not define or that cannot hold a scale or
/// zero point (complex, quantized and bit-packed types).
std::optional<std::string_view> canonical_torch_dtype(std::string_view name);

/// The names canonical_torch_dtype accepts, for error messages.
std::vector<std::string_view> torch_dtype_names();

}  // namespace llmc::recipe
