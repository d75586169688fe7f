// core/exec/matmul_math.cpp
#include "exec/matmul_math.h"

#include <ATen/ATen.h>
#include <ATen/cpu/Utils.h>

#include <initializer_list>
#include <string>

namespace llmc::exec {
namespace {

bool is_16bit(at::ScalarType dtype) { return dtype == at::kBFloat16 || dtype == at::kHalf; }

bool cpu_has_any(std::initializer_list<const char*> features) {
  static const auto capabilities = at::cpu::get_cpu_capabilities();
  for (const char* feature : features) {
    const auto found = capabilities.find(feature);
    if (found != capabilities.end() && found->second.isBool() && found->second.toBool()) return true;
  }
  return false;
}

at::Tensor widened(const at::Tensor& t) { return t.defined() ? t.to(at::kFloat) : t; }

}  // namespace

bool widens(MatmulMath math, at::ScalarType dtype) { return math == MatmulMath::float32 && is_16bit(dtype); }

MatmulMath resolve_matmul_math(std::optional<MatmulMath> chosen, at::ScalarType dtype) {
  if (chosen) return *chosen;
  if (dtype == at::kBFloat16 && !cpu_has_any({"avx512_bf16", "amx_bf16"})) return MatmulMath::float32;
  if (dtype == at::kHalf && !cpu_has_any({"avx512_fp16", "amx_fp16"})) return MatmulMath::float32;
  return MatmulMath::dtype;
}

std::optional<MatmulMath> parse_matmul_math(std::string_view name) {
  if (name == "dtype") return MatmulMath::dtype;
  if (name == "float32") return MatmulMath::float32;
  return std::nullopt;
}

std::string_view to_string(MatmulMath math) { return math == MatmulMath::dtype ? "dtype" : "float32"; }

at::Tensor linear_in(MatmulMath math, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!widens(math, x.scalar_type())) return at::linear(x, weight, bias);
  return at::linear(widened(x), widened(weight), widened(bias)).to(x.scalar_type());
}

at::Tensor matmul_in(MatmulMath math, const at::Tensor& a, const at::Tensor& b) {
  if (!widens(math, a.scalar_type())) return at::matmul(a, b);
  return at::matmul(widened(a), widened(b)).to(a.scalar_type());
}

}  // namespace llmc::exec
