// core/format/format.cpp - the format table.
#include "format/format.h"

#include <fmt/format.h>

#include <array>
#include <cassert>

namespace llmc::format {
namespace {

constexpr std::array<FormatTraits, 7> kFormats = {{
    {Format::naive_quantized, "naive-quantized", WeightLayout::unpacked, ScaleStorage::weight_dtype},
    {Format::int_quantized, "int-quantized", WeightLayout::unpacked, ScaleStorage::weight_dtype},
    {Format::float_quantized, "float-quantized", WeightLayout::unpacked, ScaleStorage::weight_dtype},
    {Format::pack_quantized, "pack-quantized", WeightLayout::int32_dense, ScaleStorage::weight_dtype},
    {Format::nvfp4_pack_quantized, "nvfp4-pack-quantized", WeightLayout::fp4_nibbles, ScaleStorage::float8},
    {Format::mxfp4_pack_quantized, "mxfp4-pack-quantized", WeightLayout::fp4_nibbles, ScaleStorage::e8m0},
    {Format::mxfp8_quantized, "mxfp8-quantized", WeightLayout::unpacked, ScaleStorage::e8m0},
}};

}  // namespace

const FormatTraits& traits(Format format) {
  const auto& row = kFormats[static_cast<size_t>(format)];
  assert(row.format == format);
  return row;
}

std::string_view to_string(Format format) { return traits(format).name; }

std::span<const FormatTraits> all_formats() { return kFormats; }

Expected<Format> parse_format(std::string_view name) {
  for (const auto& row : kFormats) {
    if (row.name == name) return row.format;
  }
  std::string known;
  for (const auto& row : kFormats) known += fmt::format("{}{}", known.empty() ? "" : ", ", row.name);
  if (name == "dense" || name == "mixed-precision") {
    return Error{fmt::format("format '{}' stores no quantized tensors; a quantized module needs one of: {}", name,
                             known)};
  }
  return Error{fmt::format("unknown compressed-tensors format '{}'; known: {}", name, known)};
}

}  // namespace llmc::format
