// core/recipe/torch_dtype.cpp - the table of torch dtype names (torch 2.x: str(getattr(torch, name))).
#include "recipe/torch_dtype.h"

#include <array>

namespace llmc::recipe {
namespace {

struct DTypeName {
  std::string_view name;       // getattr(torch, name)
  std::string_view canonical;  // str() of that dtype
};

constexpr std::array<DTypeName, 27> kDTypes{{
    {"float32", "torch.float32"},
    {"float", "torch.float32"},
    {"float64", "torch.float64"},
    {"double", "torch.float64"},
    {"float16", "torch.float16"},
    {"half", "torch.float16"},
    {"bfloat16", "torch.bfloat16"},
    {"float8_e4m3fn", "torch.float8_e4m3fn"},
    {"float8_e4m3fnuz", "torch.float8_e4m3fnuz"},
    {"float8_e5m2", "torch.float8_e5m2"},
    {"float8_e5m2fnuz", "torch.float8_e5m2fnuz"},
    {"float8_e8m0fnu", "torch.float8_e8m0fnu"},
    {"int8", "torch.int8"},
    {"int16", "torch.int16"},
    {"short", "torch.int16"},
    {"int32", "torch.int32"},
    {"int", "torch.int32"},
    {"int64", "torch.int64"},
    {"long", "torch.int64"},
    {"uint8", "torch.uint8"},
    {"uint16", "torch.uint16"},
    {"uint32", "torch.uint32"},
    {"uint64", "torch.uint64"},
    {"bool", "torch.bool"},
    {"float4_e2m1fn_x2", "torch.float4_e2m1fn_x2"},
    {"int4", "torch.int4"},
    {"uint4", "torch.uint4"},
}};

}  // namespace

std::optional<std::string_view> canonical_torch_dtype(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (const DTypeName& entry : kDTypes) {
    if (entry.name == name) return entry.canonical;
  }
  return std::nullopt;
}

std::vector<std::string_view> torch_dtype_names() {
  std::vector<std::string_view> names;
  for (const DTypeName& entry : kDTypes) names.push_back(entry.name);
  return names;
}

}  // namespace llmc::recipe
