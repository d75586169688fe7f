// core/quant/column_quantize.cpp
#include "quant/column_quantize.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "quant/quantize.h"

namespace llmc::quant {
namespace {

// The group (or block column) of each of `columns`.
at::Tensor column_groups(const at::Tensor& columns, const QParams& qparams, int64_t divisor) {
  if (qparams.g_idx) return qparams.g_idx->to(at::kLong).index_select(0, columns);
  return at::floor_divide(columns, divisor);
}

// `t` [rows or row blocks, groups] gathered to one value per (row, column): [rows, n].
at::Tensor per_element(const at::Tensor& t, const at::Tensor& groups, int64_t rows, int64_t block_height) {
  at::Tensor picked = t.index_select(1, groups);
  if (block_height > 1) picked = picked.repeat_interleave(block_height, 0).slice(0, 0, rows);
  return picked.expand({rows, groups.size(0)});
}

}  // namespace

Expected<at::Tensor> fake_quantize_columns(const at::Tensor& values, const at::Tensor& columns, const QParams& qparams,
                                           const recipe::QuantArgs& args) {
  if (values.dim() != 2 || columns.dim() != 1 || columns.size(0) != values.size(1))
    return Error{fmt::format("fake_quantize_columns: values [rows, n] and columns [n] expected, got {} and {}",
                             c10::str(values.sizes()), c10::str(columns.sizes()))};
  if (!args.strategy) return Error{"quantization args without a strategy"};
  const int64_t rows = values.size(0);
  const at::Tensor index = columns.to(at::kLong).to(qparams.scale.device());
  const bool asymmetric = !args.symmetric && qparams.zero_point.has_value();
  at::Tensor scale;
  std::optional<at::Tensor> zero_point;
  switch (*args.strategy) {
    case recipe::Strategy::tensor:
      scale = qparams.scale.reshape({1, 1});
      if (asymmetric) zero_point = qparams.zero_point->reshape({1, 1});
      break;
    case recipe::Strategy::channel:
      scale = qparams.scale.reshape({rows, 1});
      if (asymmetric) zero_point = qparams.zero_point->reshape({rows, 1});
      break;
    case recipe::Strategy::group:
    case recipe::Strategy::tensor_group: {
      const at::Tensor groups = column_groups(index, qparams, *args.group_size);
      scale = per_element(qparams.scale, groups, rows, 1);
      if (asymmetric) zero_point = per_element(*qparams.zero_point, groups, rows, 1);
      break;
    }
    case recipe::Strategy::block: {
      const auto [block_height, block_width] = *args.block_structure;
      const at::Tensor groups = column_groups(index, qparams, block_width);
      scale = per_element(qparams.scale, groups, rows, block_height);
      if (asymmetric) zero_point = per_element(*qparams.zero_point, groups, rows, block_height);
      break;
    }
    default:
      return Error{fmt::format("fake_quantize_columns: strategy {} quantizes no weight", recipe::to_string(*args.strategy))};
  }
  if (qparams.global_scale) scale = scale / *qparams.global_scale;
  recipe::QuantArgs channel = args;
  channel.strategy = recipe::Strategy::channel;
  return fake_quantize(values, QParams{scale.contiguous(), zero_point, std::nullopt, std::nullopt}, channel);
}

}  // namespace llmc::quant
