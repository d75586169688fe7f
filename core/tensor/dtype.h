// core/tensor/dtype.h - element types as one table (ggml's type traits): safetensors name, bit width,
// DLPack code, torch name.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "llmc/plugin.h"

namespace llmc {

enum class DType : uint8_t {
  BOOL, U8, I8, I16, U16, I32, U32, I64, U64,
  F16, BF16, F32, F64,
  F8_E4M3, F8_E5M2, F8_E8M0, F6_E2M3, F6_E3M2, F4,
  F8_E4M3FNUZ, F8_E5M2FNUZ, C64,
};
inline constexpr int kDTypeCount = 22;

struct DTypeTraits {
  DType dtype;
  std::string_view safetensors_name;  // the "dtype" string of a safetensors header
  uint8_t bits;                       // bits per element; sub-byte types are packed
  uint8_t dl_code;                    // llmc_dl_dtype_code (DLPack)
  std::string_view torch_name;        // "torch.bfloat16", as compressed-tensors writes dtypes
};

const DTypeTraits& traits(DType dtype);
std::string_view name(DType dtype);  // the safetensors name
std::optional<DType> dtype_from_safetensors(std::string_view name);
std::optional<DType> dtype_from_dl(llmc_dl_dtype dl);
llmc_dl_dtype to_dl(DType dtype);

/// Bytes taken by `count` elements, or nullopt when a sub-byte type does not fill whole bytes.
std::optional<uint64_t> byte_size(DType dtype, uint64_t count);

}  // namespace llmc
