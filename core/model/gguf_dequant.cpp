// core/model/gguf_dequant.cpp
#include "model/gguf_dequant.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "tensor/element_cast.h"

// Every formula below multiplies and adds in the order of the gguf Python package's numpy code, in
// float32 and without fused multiply-add, so the results are the same bits.
#if defined(__clang__)
#pragma clang fp contract(off)
#else
#pragma GCC optimize("fp-contract=off")
#endif

namespace llmc::model {
namespace {

uint16_t load_u16(const std::byte* p) {
  uint16_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

float load_f16(const std::byte* p) { return element::to_float(element::F16{load_u16(p)}); }

uint8_t byte_at(const std::byte* p, size_t i) { return std::to_integer<uint8_t>(p[i]); }

void dequantize_f32(const std::byte* blocks, float* out, uint64_t n) { std::memcpy(out, blocks, n * 4); }

void dequantize_f16(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) out[i] = load_f16(blocks + 2 * i);
}

void dequantize_bf16(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) out[i] = element::to_float(element::BF16{load_u16(blocks + 2 * i)});
}

// Q8_0: fp16 scale d, 32 int8 values; x = q * d.
void dequantize_q8_0(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t b = 0; b < n; ++b, blocks += 34, out += 32) {
    const float d = load_f16(blocks);
    for (int i = 0; i < 32; ++i) out[i] = static_cast<float>(static_cast<int8_t>(byte_at(blocks, 2 + i))) * d;
  }
}

// Q4_0: fp16 scale d, 16 bytes of nibbles (element i low, element i + 16 high); x = d * (q - 8).
void dequantize_q4_0(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t b = 0; b < n; ++b, blocks += 18, out += 32) {
    const float d = load_f16(blocks);
    for (int i = 0; i < 16; ++i) {
      const uint8_t q = byte_at(blocks, 2 + i);
      out[i] = d * static_cast<float>((q & 0x0F) - 8);
      out[i + 16] = d * static_cast<float>((q >> 4) - 8);
    }
  }
}

// Q4_1: fp16 scale d and minimum m, nibbles as Q4_0; x = d * q + m.
void dequantize_q4_1(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t b = 0; b < n; ++b, blocks += 20, out += 32) {
    const float d = load_f16(blocks);
    const float m = load_f16(blocks + 2);
    for (int i = 0; i < 16; ++i) {
      const uint8_t q = byte_at(blocks, 4 + i);
      out[i] = d * static_cast<float>(q & 0x0F) + m;
      out[i + 16] = d * static_cast<float>(q >> 4) + m;
    }
  }
}

// Q4_K: fp16 d and dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, then 128 bytes of
// nibbles (each 32 bytes hold two sub-blocks: low nibbles first); x = (d * sc) * q - dmin * m.
void dequantize_q4_k(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t b = 0; b < n; ++b, blocks += 144, out += 256) {
    const float d = load_f16(blocks);
    const float dmin = load_f16(blocks + 2);
    const std::byte* s = blocks + 4;
    const std::byte* qs = blocks + 16;
    for (int j = 0; j < 8; ++j) {
      const uint8_t sc = j < 4 ? byte_at(s, j) & 63
                               : (byte_at(s, j + 4) & 0x0F) | ((byte_at(s, j - 4) >> 6) << 4);
      const uint8_t m = j < 4 ? byte_at(s, j + 4) & 63 : (byte_at(s, j + 4) >> 4) | ((byte_at(s, j) >> 6) << 4);
      const float scale = d * static_cast<float>(sc);
      const float offset = dmin * static_cast<float>(m);
      const int shift = (j % 2) * 4;
      for (int l = 0; l < 32; ++l) {
        const int q = (byte_at(qs, (j / 2) * 32 + l) >> shift) & 0x0F;
        out[j * 32 + l] = scale * static_cast<float>(q) - offset;
      }
    }
  }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales (one per 16 elements),
// fp16 d; x = (d * scale) * (q - 32).
void dequantize_q6_k(const std::byte* blocks, float* out, uint64_t n) {
  for (uint64_t b = 0; b < n; ++b, blocks += 210, out += 256) {
    const std::byte* ql = blocks;
    const std::byte* qh = blocks + 128;
    const std::byte* scales = blocks + 192;
    const float d = load_f16(blocks + 208);
    for (int i = 0; i < 256; ++i) {
      const int half = i / 128, r = (i % 128) / 32, l = i % 32;
      const uint8_t low = byte_at(ql, half * 64 + (r % 2) * 32 + l) >> ((r / 2) * 4) & 0x0F;
      const uint8_t high = (byte_at(qh, half * 32 + l) >> (2 * r)) & 0x03;
      const float scale = d * static_cast<float>(static_cast<int8_t>(byte_at(scales, i / 16)));
      out[i] = scale * static_cast<float>(static_cast<int>(low | (high << 4)) - 32);
    }
  }
}

constexpr std::array kTraits{
    GgmlTypeTraits{GgmlType::F32, "F32", 1, 4, dequantize_f32},
    GgmlTypeTraits{GgmlType::F16, "F16", 1, 2, dequantize_f16},
    GgmlTypeTraits{GgmlType::Q4_0, "Q4_0", 32, 18, dequantize_q4_0},
    GgmlTypeTraits{GgmlType::Q4_1, "Q4_1", 32, 20, dequantize_q4_1},
    GgmlTypeTraits{GgmlType::Q5_0, "Q5_0", 32, 22, nullptr},
    GgmlTypeTraits{GgmlType::Q5_1, "Q5_1", 32, 24, nullptr},
    GgmlTypeTraits{GgmlType::Q8_0, "Q8_0", 32, 34, dequantize_q8_0},
    GgmlTypeTraits{GgmlType::Q8_1, "Q8_1", 32, 40, nullptr},
    GgmlTypeTraits{GgmlType::Q2_K, "Q2_K", 256, 84, nullptr},
    GgmlTypeTraits{GgmlType::Q3_K, "Q3_K", 256, 110, nullptr},
    GgmlTypeTraits{GgmlType::Q4_K, "Q4_K", 256, 144, dequantize_q4_k},
    GgmlTypeTraits{GgmlType::Q5_K, "Q5_K", 256, 176, nullptr},
    GgmlTypeTraits{GgmlType::Q6_K, "Q6_K", 256, 210, dequantize_q6_k},
    GgmlTypeTraits{GgmlType::Q8_K, "Q8_K", 256, 292, nullptr},
    GgmlTypeTraits{GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, nullptr},
    GgmlTypeTraits{GgmlType::IQ2_XS, "IQ2_XS", 256, 74, nullptr},
    GgmlTypeTraits{GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, nullptr},
    GgmlTypeTraits{GgmlType::IQ1_S, "IQ1_S", 256, 50, nullptr},
    GgmlTypeTraits{GgmlType::IQ4_NL, "IQ4_NL", 32, 18, nullptr},
    GgmlTypeTraits{GgmlType::IQ3_S, "IQ3_S", 256, 110, nullptr},
    GgmlTypeTraits{GgmlType::IQ2_S, "IQ2_S", 256, 82, nullptr},
    GgmlTypeTraits{GgmlType::IQ4_XS, "IQ4_XS", 256, 136, nullptr},
    GgmlTypeTraits{GgmlType::I8, "I8", 1, 1, nullptr},
    GgmlTypeTraits{GgmlType::I16, "I16", 1, 2, nullptr},
    GgmlTypeTraits{GgmlType::I32, "I32", 1, 4, nullptr},
    GgmlTypeTraits{GgmlType::I64, "I64", 1, 8, nullptr},
    GgmlTypeTraits{GgmlType::F64, "F64", 1, 8, nullptr},
    GgmlTypeTraits{GgmlType::IQ1_M, "IQ1_M", 256, 56, nullptr},
    GgmlTypeTraits{GgmlType::BF16, "BF16", 1, 2, dequantize_bf16},
    GgmlTypeTraits{GgmlType::TQ1_0, "TQ1_0", 256, 54, nullptr},
    GgmlTypeTraits{GgmlType::TQ2_0, "TQ2_0", 256, 66, nullptr},
    GgmlTypeTraits{GgmlType::MXFP4, "MXFP4", 32, 17, nullptr},
};

}  // namespace

const GgmlTypeTraits* ggml_type_traits(uint32_t type) {
  for (const GgmlTypeTraits& traits : kTraits)
    if (static_cast<uint32_t>(traits.type) == type) return &traits;
  return nullptr;
}

std::string ggml_type_name(GgmlType type) {
  const GgmlTypeTraits* traits = ggml_type_traits(static_cast<uint32_t>(type));
  return traits ? traits->name : fmt::format("type {}", static_cast<uint32_t>(type));
}

Status dequantize(GgmlType type, std::span<const std::byte> data, std::span<float> out) {
  const GgmlTypeTraits* traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits || !traits->dequantize) return Error{fmt::format("unsupported ggml type {}", ggml_type_name(type))};
  if (out.size() % traits->block_size != 0)
    return Error{fmt::format("{} elements of {} do not fill whole blocks of {}", out.size(), traits->name,
                             traits->block_size)};
  const uint64_t n_blocks = out.size() / traits->block_size;
  if (data.size() != n_blocks * traits->type_size)
    return Error{fmt::format("{} elements of {} take {} bytes, got {}", out.size(), traits->name,
                             n_blocks * traits->type_size, data.size())};
  traits->dequantize(data.data(), out.data(), n_blocks);
  return {};
}

}  // namespace llmc::model
