// core/quant/quantize.cpp - CT's _process_quantization: strategy reshaping (group, block) around one
// elementwise quantize / dequantize / quantize-dequantize op.
#include "quant/quantize.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "quant/rounding.h"
#include "quant/value_format.h"
#include "quant/weight_kernels.h"

namespace llmc::quant {
namespace {

enum class Op { quantize, dequantize, quantize_dequantize };

struct OpContext {
  Op op;
  ValueFormat format;
  at::Tensor qmin, qmax;
  std::optional<at::ScalarType> dtype;  // CT's `dtype` argument
  std::optional<at::Tensor> global_scale;
};

// CT _apply_quantize_op: _quantize, _dequantize or _quantize_dequantize on broadcastable qparams.
at::Tensor apply_op(const at::Tensor& x, at::Tensor scale, const std::optional<at::Tensor>& zero_point,
                    const OpContext& ctx) {
  if (ctx.global_scale) scale = scale / *ctx.global_scale;
  if (ctx.op == Op::dequantize) {
    at::Tensor value = x.to(scale.scalar_type());
    if (zero_point) value = value - zero_point->to(scale.scalar_type());
    value = value * scale;
    return ctx.dtype ? value.to(*ctx.dtype) : value;
  }
  at::Tensor scaled = x / scale;
  if (zero_point) scaled.add_(zero_point->to(x.scalar_type()));
  const at::Tensor quantized = round_to_format(scaled, ctx.format, ctx.qmin, ctx.qmax);
  if (ctx.op == Op::quantize) return ctx.dtype ? quantized.to(*ctx.dtype) : quantized;
  at::Tensor value = quantized.to(scale.scalar_type());
  if (zero_point) value = value - zero_point->to(scale.scalar_type());
  return value * scale;
}

std::optional<at::Tensor> map(const std::optional<at::Tensor>& t, auto&& fn) {
  if (!t) return std::nullopt;
  return fn(*t);
}

// CT _process_group: split the last dim into groups (or, with g_idx, give every column its group's qparams).
Expected<at::Tensor> process_group(const at::Tensor& x, const QParams& qparams, int64_t group_size,
                                   const OpContext& ctx) {
  const at::ScalarType output_dtype = ctx.dtype.value_or(x.scalar_type());
  at::Tensor scale = qparams.scale;
  std::optional<at::Tensor> zero_point = qparams.zero_point;
  while (scale.dim() < 2) {
    scale = scale.unsqueeze(1);
    zero_point = map(zero_point, [](const at::Tensor& t) { return t.unsqueeze(1); });
  }
  const int64_t columns = x.size(-1);
  if (qparams.g_idx) {
    const at::Tensor g_idx = qparams.g_idx->to(at::kLong);
    if (g_idx.dim() != 1 || g_idx.size(0) != columns) {
      return Error{fmt::format("g_idx must hold one group per column ({}), got shape {}", columns,
                               c10::str(g_idx.sizes()))};
    }
    auto per_column = [&](const at::Tensor& t) { return t.index_select(-1, g_idx.to(t.device())); };
    return apply_op(x, per_column(scale), map(zero_point, per_column), ctx).to(output_dtype);
  }
  if (columns % group_size != 0) {
    return Error{fmt::format("the last dim ({}) must be divisible by group_size {}", columns, group_size)};
  }
  const at::Tensor groups = x.unflatten(-1, {columns / group_size, group_size});
  auto with_group_dim = [](const at::Tensor& t) { return t.unsqueeze(-1); };
  const at::Tensor output = apply_op(groups, with_group_dim(scale), map(zero_point, with_group_dim), ctx);
  return output.flatten(-2).to(output_dtype);
}

// CT _process_block: zero-pad to whole blocks, quantize each [bh, bw] tile with its qparams, cut back.
Expected<at::Tensor> process_block(const at::Tensor& x, const QParams& qparams, std::array<int64_t, 2> block,
                                   const OpContext& ctx) {
  if (x.dim() != 2) return Error{fmt::format("block quantization needs a 2-D tensor, got {}-D", x.dim())};
  const auto [block_height, block_width] = block;
  const int64_t rows = x.size(0), cols = x.size(1);
  const int64_t pad_rows = (block_height - rows % block_height) % block_height;
  const int64_t pad_cols = (block_width - cols % block_width) % block_width;
  const at::Tensor padded = pad_rows == 0 && pad_cols == 0 ? x : at::constant_pad_nd(x, {0, pad_cols, 0, pad_rows}, 0);
  const int64_t row_blocks = padded.size(0) / block_height, col_blocks = padded.size(1) / block_width;
  const at::Tensor blocks = padded.reshape({row_blocks, block_height, col_blocks, block_width}).transpose(1, 2);
  auto with_block_dims = [](const at::Tensor& t) { return t.unsqueeze(-1).unsqueeze(-1); };
  const at::Tensor output = apply_op(blocks, with_block_dims(qparams.scale), map(qparams.zero_point, with_block_dims),
                                     ctx).transpose(1, 2).reshape(padded.sizes());
  if (pad_rows == 0 && pad_cols == 0) return output;
  return output.slice(0, 0, rows).slice(1, 0, cols);
}

Expected<at::Tensor> process(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args, Op op,
                             std::optional<at::ScalarType> dtype) {
  auto format = value_format(args);
  LLMC_TRY(format);
  if (!args.strategy) return Error{"quantization args without a strategy (finalize them first)"};
  auto [qmin, qmax] = format_range(*format, x.device());
  const OpContext ctx{op, *format, qmin, qmax, dtype, qparams.global_scale};
  try {
    switch (*args.strategy) {
      case recipe::Strategy::block:
        if (!args.block_structure) return Error{"strategy 'block' requires block_structure"};
        return process_block(x, qparams, *args.block_structure, ctx);
      case recipe::Strategy::group:
      case recipe::Strategy::tensor_group:
        if (!args.group_size || *args.group_size <= 0) return Error{"group strategies require a positive group_size"};
        return process_group(x, qparams, *args.group_size, ctx);
      default:  // tensor, channel, token, attn_head: the qparams broadcast as they are
        return apply_op(x, qparams.scale, qparams.zero_point, ctx);
    }
  } catch (const c10::Error& e) {  // shapes or dtypes the qparams do not fit
    return Error{e.what_without_backtrace()};
  }
}

}  // namespace

Expected<at::Tensor> quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args) {
  auto format = value_format(args);
  LLMC_TRY(format);
  if (auto fused = fused_quantize(x, qparams, args, *format)) return *std::move(fused);
  return process(x, qparams, args, Op::quantize, format->storage_dtype);
}

Expected<at::Tensor> dequantize(const at::Tensor& q, const QParams& qparams, const recipe::QuantArgs& args,
                                at::ScalarType dtype) {
  return process(q, qparams, args, Op::dequantize, dtype);
}

Expected<at::Tensor> fake_quantize(const at::Tensor& x, const QParams& qparams, const recipe::QuantArgs& args) {
  return process(x, qparams, args, Op::quantize_dequantize, std::nullopt);
}

}  // namespace llmc::quant
