// core/tensor/dtype.cpp
#include "tensor/dtype.h"

#include <array>

namespace llmc {
namespace {
// Rows in DType order, the dtypes of safetensors 0.8. DLPack codes from llmc_dl_dtype_code; the codes it
// does not name are DLPack's: 15/16 (F6), 11/13 (F8 FNUZ), 5 (kDLComplex).
constexpr std::array<DTypeTraits, kDTypeCount> kTraits = {{
    {DType::BOOL, "BOOL", 8, LLMC_DL_BOOL, "torch.bool"},
    {DType::U8, "U8", 8, LLMC_DL_UINT, "torch.uint8"},
    {DType::I8, "I8", 8, LLMC_DL_INT, "torch.int8"},
    {DType::I16, "I16", 16, LLMC_DL_INT, "torch.int16"},
    {DType::U16, "U16", 16, LLMC_DL_UINT, "torch.uint16"},
    {DType::I32, "I32", 32, LLMC_DL_INT, "torch.int32"},
    {DType::U32, "U32", 32, LLMC_DL_UINT, "torch.uint32"},
    {DType::I64, "I64", 64, LLMC_DL_INT, "torch.int64"},
    {DType::U64, "U64", 64, LLMC_DL_UINT, "torch.uint64"},
    {DType::F16, "F16", 16, LLMC_DL_FLOAT, "torch.float16"},
    {DType::BF16, "BF16", 16, LLMC_DL_BFLOAT, "torch.bfloat16"},
    {DType::F32, "F32", 32, LLMC_DL_FLOAT, "torch.float32"},
    {DType::F64, "F64", 64, LLMC_DL_FLOAT, "torch.float64"},
    {DType::F8_E4M3, "F8_E4M3", 8, LLMC_DL_FLOAT8_E4M3FN, "torch.float8_e4m3fn"},
    {DType::F8_E5M2, "F8_E5M2", 8, LLMC_DL_FLOAT8_E5M2, "torch.float8_e5m2"},
    {DType::F8_E8M0, "F8_E8M0", 8, LLMC_DL_FLOAT8_E8M0FNU, "torch.float8_e8m0fnu"},
    {DType::F6_E2M3, "F6_E2M3", 6, 15, "torch.float6_e2m3fn"},
    {DType::F6_E3M2, "F6_E3M2", 6, 16, "torch.float6_e3m2fn"},
    {DType::F4, "F4", 4, LLMC_DL_FLOAT4_E2M1FN, "torch.float4_e2m1fn_x2"},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8, 11, "torch.float8_e4m3fnuz"},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8, 13, "torch.float8_e5m2fnuz"},
    {DType::C64, "C64", 64, 5, "torch.complex64"},
}};
}  // namespace

const DTypeTraits& traits(DType dtype) { return kTraits[static_cast<size_t>(dtype)]; }
std::string_view name(DType dtype) { return traits(dtype).safetensors_name; }

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& row : kTraits)
    if (row.safetensors_name == name) return row.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_dl(llmc_dl_dtype dl) {
  if (dl.lanes != 1) return std::nullopt;
  for (const auto& row : kTraits)
    if (row.dl_code == dl.code && row.bits == dl.bits) return row.dtype;
  return std::nullopt;
}

llmc_dl_dtype to_dl(DType dtype) {
  const auto& row = traits(dtype);
  return llmc_dl_dtype{row.dl_code, row.bits, 1};
}

std::optional<uint64_t> byte_size(DType dtype, uint64_t count) {
  const uint64_t bits = count * traits(dtype).bits;
  if (bits % 8 != 0) return std::nullopt;
  return bits / 8;
}

}  // namespace llmc
