// plugins/smoothquant/smoothing.h - SmoothQuant and logarithmic equalization (LLM Compressor
// modifiers/transform/smoothquant/base.py) as plain LibTorch functions: the per-channel range of the smooth
// layer's output, the smoothing scales, and their fold into the weights. Every op runs in the dtype the
// reference runs it in (the model's, until the float32 clamp), so results are bit-identical to it.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <span>

namespace llmc::smoothing {

enum class Algorithm { smoothquant, log_equalization };

// The reference's MINIMUM_SMOOTHING_SCALE.
inline constexpr double minimum_scale = 1e-5;

// Running per-channel min and max of the smooth layer's output over every token of every batch, in the
// output's dtype.
class ChannelRange {
 public:
  // Adds a batch x [tokens, channels].
  void update(const at::Tensor& x);
  bool empty() const { return !min_.defined(); }
  // max - min per channel (the dynamic range), in the output's dtype. Precondition: !empty().
  at::Tensor dynamic_range() const;

 private:
  at::Tensor min_;
  at::Tensor max_;
};

// The scales s [channels] for the balance layers' weights [out, channels]: smoothquant
// s = range^alpha / w^(1-alpha) with w = 2 * max over layers and rows of |W[:, j]| (s = range where w is 0),
// log_equalization s = range / log2(2 + range); both in the model's dtype, then clamped to at least 1e-5 in
// float32 (the result is float32).
at::Tensor smoothing_scales(const at::Tensor& range, std::span<const at::Tensor> balance_weights, Algorithm algorithm,
                            double alpha);

// The fold: each balance weight W[:, j] *= s_j; the smooth layer's output divided by s (a norm weight [n],
// or every row of a Linear weight [n, in]) and its bias, if any. Computed in float32 (the scales' dtype) and
// rounded to each tensor's dtype, in place.
void fold_scales(const at::Tensor& scales, std::span<const at::Tensor> balance_weights, const at::Tensor& smooth_weight,
                 const std::optional<at::Tensor>& smooth_bias);

}  // namespace llmc::smoothing
