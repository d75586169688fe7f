// core/exec/rope.cpp - rope frequencies (transformers' modeling_rope_utils, op for op) and rotation.
#include "exec/rope.h"

#include <ATen/ATen.h>

#include <cmath>
#include <numbers>

namespace llmc::exec {
namespace {

// 1 / theta^(2i / dim) in float32.
at::Tensor default_frequencies(double theta, int64_t head_dim) {
  const at::Tensor exponents = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  return 1.0 / at::pow(theta, exponents);
}

at::Tensor llama3_frequencies(const at::Tensor& inv_freq, const model::RopeConfig& config) {
  const double low_freq_wavelen = static_cast<double>(config.original_max_position) / config.low_freq_factor;
  const double high_freq_wavelen = static_cast<double>(config.original_max_position) / config.high_freq_factor;
  const at::Tensor wavelen = 2 * std::numbers::pi / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / config.factor, inv_freq);
  const at::Tensor smooth = (static_cast<double>(config.original_max_position) / wavelen - config.low_freq_factor) /
                            (config.high_freq_factor - config.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth) * scaled / config.factor + smooth * scaled;
  const at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(medium, smoothed, scaled);
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

Rope::Rope(const model::RopeConfig& config, int64_t head_dim, at::Device device) : config_(config), head_dim_(head_dim) {
  at::Tensor inv_freq = default_frequencies(config.theta, head_dim);
  switch (config.type) {
    case model::RopeType::default_rope:
    case model::RopeType::dynamic: break;  // the default frequencies up to max_position_embeddings
    case model::RopeType::linear: inv_freq = inv_freq / config.factor; break;
    case model::RopeType::llama3: inv_freq = llama3_frequencies(inv_freq, config); break;
  }
  inv_freq_ = inv_freq.to(device);
}

std::pair<at::Tensor, at::Tensor> Rope::cos_sin(const at::Tensor& positions, at::ScalarType dtype) const {
  at::Tensor inv_freq = inv_freq_;
  if (config_.type == model::RopeType::dynamic && positions.numel() > 0) {
    const int64_t length = positions.max().item<int64_t>() + 1;
    if (length > config_.original_max_position) {
      const double dim = static_cast<double>(head_dim_);
      const double base = config_.theta * std::pow(config_.factor * static_cast<double>(length) /
                                                       static_cast<double>(config_.original_max_position) -
                                                       (config_.factor - 1),
                                                   dim / (dim - 2));
      inv_freq = default_frequencies(base, head_dim_).to(inv_freq_.device());
    }
  }
  const at::Tensor freq = inv_freq.unsqueeze(0).unsqueeze(-1).expand({positions.size(0), -1, 1});  // [B, D/2, 1]
  const at::Tensor pos = positions.unsqueeze(1).to(at::kFloat);                                    // [B, 1, T]
  const at::Tensor freqs = at::matmul(freq, pos).transpose(1, 2);                                  // [B, T, D/2]
  const at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor Rope::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  return x * c + rotate_half(x) * s;
}

}  // namespace llmc::exec
