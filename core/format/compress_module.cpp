// core/format/compress_module.cpp - a quantized module's tensors in its format (compressed-tensors 0.19
// compressors: naive/int/float-quantized, pack-quantized, nvfp4/mxfp4-pack-quantized, mxfp8-quantized).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "format/e8m0.h"
#include "format/fp4_packing.h"
#include "format/int_packing.h"
#include "format/module_layout.h"
#include "format/quantized_module.h"

namespace llmc::format {
namespace {

using recipe::QuantArgs;
using recipe::Strategy;

Status check_int_range(const at::Tensor& values, int64_t num_bits, std::string_view what) {
  if (!at::isIntegralType(values.scalar_type(), /*includeBool=*/false)) {
    return Error{fmt::format("{} must hold integers, got {}", what, c10::toString(values.scalar_type()))};
  }
  if (values.numel() == 0 || num_bits >= 32) return Status::ok();
  const auto [low, high] = at::aminmax(values.to(at::kLong));
  const int64_t min = -(int64_t{1} << (num_bits - 1));
  const int64_t max = (int64_t{1} << (num_bits - 1)) - 1;
  if (low.item<int64_t>() < min || high.item<int64_t>() > max) {
    return Error{fmt::format("{} holds values in [{}, {}], outside the {}-bit range [{}, {}]", what,
                             low.item<int64_t>(), high.item<int64_t>(), num_bits, min, max)};
  }
  return Status::ok();
}

Status check_shape(const at::Tensor& tensor, at::IntArrayRef expected, std::string_view what) {
  if (tensor.sizes() == expected) return Status::ok();
  return Error{fmt::format("{} has shape {}, expected {}", what, shape_string(tensor.sizes()), shape_string(expected))};
}

Status check_float(const at::Tensor& tensor, std::string_view what) {
  if (at::isFloatingType(tensor.scalar_type())) return Status::ok();
  return Error{fmt::format("{} must be a float tensor, got {}", what, c10::toString(tensor.scalar_type()))};
}

class ModuleWriter {
 public:
  explicit ModuleWriter(const QuantizedModule& module) : module_(module) {}

  Expected<std::vector<NamedTensor>> run() {
    if (auto status = write(); !status) {
      return Error{fmt::format("module '{}' ({}): {}", module_.name, to_string(module_.format), status.error().message)};
    }
    return std::move(tensors_);
  }

 private:
  void add(std::string_view local_name, const at::Tensor& tensor) {
    tensors_.push_back({fmt::format("{}.{}", module_.name, local_name), tensor.contiguous()});
  }

  Status write() {
    LLMC_TRY(check_format_args(module_.format, module_.scheme));
    const QuantArgs& args = *module_.scheme.weights;
    const at::Tensor& weight = module_.weight;
    if (!weight.defined()) return Error{"no quantized weight given"};
    auto qshape = weight_qparam_shape(args, weight.sizes());
    LLMC_TRY(qshape);
    LLMC_TRY(write_weight(args));
    LLMC_TRY(write_weight_qparams(args, *qshape));
    if (module_.g_idx.defined()) {
      LLMC_TRY(check_shape(module_.g_idx, {weight.size(-1)}, "weight_g_idx"));
      LLMC_TRY(check_int_range(module_.g_idx, 32, "weight_g_idx"));
      add("weight_g_idx", module_.g_idx.to(at::kInt));
    }
    LLMC_TRY(write_activation("input", module_.scheme.input_activations, module_.input_qparams, weight.size(-1)));
    LLMC_TRY(write_activation("output", module_.scheme.output_activations, module_.output_qparams,
                              weight.size(-2)));
    return Status::ok();
  }

  Status write_weight(const QuantArgs& args) {
    const at::Tensor& weight = module_.weight;
    switch (traits(module_.format).layout) {
      case WeightLayout::unpacked:
        if (args.type == recipe::QuantType::int_) {
          LLMC_TRY(check_int_range(weight, args.num_bits, "the weight"));
        } else {
          LLMC_TRY(check_float(weight, "the weight"));  // fp8 values; another float dtype is cast (CT's quantize)
        }
        add("weight", weight.to(unpacked_weight_dtype(args)));
        return Status::ok();
      case WeightLayout::int32_dense: {
        if (weight.scalar_type() != at::kChar) {
          return Error{fmt::format("pack-quantized needs int8 weight values, got {}", c10::toString(weight.scalar_type()))};
        }
        auto packed = pack_int32(weight, static_cast<int>(args.num_bits));
        if (!packed) return Error{"weight: " + packed.error().message};
        add("weight_packed", *packed);
        add("weight_shape", at::tensor(weight.sizes().vec(), at::kLong));
        return Status::ok();
      }
      case WeightLayout::fp4_nibbles: {
        if (weight.size(-1) % 2 != 0) {
          return Error{fmt::format("in_features {} is odd: FP4 packs two values per byte", weight.size(-1))};
        }
        auto packed = pack_fp4(weight);
        if (!packed) return Error{"weight: " + packed.error().message};
        add("weight_packed", *packed);
        return Status::ok();
      }
    }
    return Status::ok();
  }

  Status write_weight_qparams(const QuantArgs& args, const std::vector<int64_t>& qshape) {
    const QParams& qparams = module_.weight_qparams;
    if (!qparams.scale.defined()) return Error{"no weight_scale given"};
    LLMC_TRY(check_shape(qparams.scale, qshape, "weight_scale"));
    auto scale_dtype = weight_scale_dtype(module_.format, args, module_.dtype);
    LLMC_TRY(scale_dtype);
    if (traits(module_.format).scale == ScaleStorage::e8m0) {
      auto encoded = encode_e8m0(qparams.scale);
      if (!encoded) return Error{"weight_scale: " + encoded.error().message};
      add("weight_scale", *encoded);
    } else {
      LLMC_TRY(check_float(qparams.scale, "weight_scale"));
      add("weight_scale", qparams.scale.to(*scale_dtype));
    }
    if (!args.symmetric) {
      const at::Tensor& zero_point = qparams.zero_point;
      if (!zero_point.defined()) return Error{"asymmetric weights need weight_zero_point"};
      LLMC_TRY(check_shape(zero_point, qshape, "weight_zero_point"));
      LLMC_TRY(check_int_range(zero_point, args.num_bits, "weight_zero_point"));
      if (packs_zero_point(module_.format, args)) {
        auto packed = pack_int32(zero_point.to(at::kChar), static_cast<int>(args.num_bits), PackDim::rows);
        if (!packed) return Error{"weight_zero_point: " + packed.error().message};
        add("weight_zero_point", *packed);
      } else {
        auto zp_dtype = zero_point_dtype(args);
        LLMC_TRY(zp_dtype);
        add("weight_zero_point", zero_point.to(*zp_dtype));
      }
    }
    return write_global_scale("weight", *args.strategy == Strategy::tensor_group, qparams.global_scale);
  }

  Status write_global_scale(std::string_view prefix, bool stored, const at::Tensor& global_scale) {
    const std::string name = fmt::format("{}_global_scale", prefix);
    if (!stored) {
      if (global_scale.defined()) return Error{fmt::format("{} given, but only strategy tensor_group has one", name)};
      return Status::ok();
    }
    if (!global_scale.defined()) return Error{fmt::format("strategy tensor_group needs {}", name)};
    if (global_scale.numel() != 1) {
      return Error{fmt::format("{} has shape {}, expected [1]", name, shape_string(global_scale.sizes()))};
    }
    LLMC_TRY(check_float(global_scale, name));
    add(name, global_scale.to(at::kFloat).reshape({1}));
    return Status::ok();
  }

  Status write_activation(std::string_view prefix, const std::optional<QuantArgs>& args, const QParams& qparams,
                          int64_t features) {
    const bool given = qparams.scale.defined() || qparams.zero_point.defined() || qparams.global_scale.defined();
    if (!args || args->dynamic == recipe::Dynamic::on) {
      if (given) {
        return Error{fmt::format("{} qparams given, but the scheme stores none for {} activations", prefix,
                                 args ? "dynamic" : "unquantized")};
      }
      return Status::ok();
    }
    LLMC_TRY(write_global_scale(prefix, *args->strategy == Strategy::tensor_group, qparams.global_scale));
    if (args->dynamic == recipe::Dynamic::local) {
      if (qparams.scale.defined() || qparams.zero_point.defined()) {
        return Error{fmt::format("{}_scale given, but dynamic \"local\" activations store only a global scale",
                                 prefix)};
      }
      return Status::ok();
    }
    auto shape = activation_qparam_shape(*args, features);
    LLMC_TRY(shape);
    const std::string scale_name = fmt::format("{}_scale", prefix);
    if (!qparams.scale.defined()) return Error{fmt::format("static {} activations need {}", prefix, scale_name)};
    LLMC_TRY(check_shape(qparams.scale, *shape, scale_name));
    LLMC_TRY(check_float(qparams.scale, scale_name));
    add(scale_name, qparams.scale.to(activation_scale_dtype(module_.dtype)));
    if (args->symmetric) return Status::ok();
    const std::string zp_name = fmt::format("{}_zero_point", prefix);
    if (!qparams.zero_point.defined()) return Error{fmt::format("asymmetric {} activations need {}", prefix, zp_name)};
    LLMC_TRY(check_shape(qparams.zero_point, *shape, zp_name));
    LLMC_TRY(check_int_range(qparams.zero_point, args->num_bits, zp_name));
    auto zp_dtype = zero_point_dtype(*args);
    LLMC_TRY(zp_dtype);
    add(zp_name, qparams.zero_point.to(*zp_dtype));
    return Status::ok();
  }

  const QuantizedModule& module_;
  std::vector<NamedTensor> tensors_;
};

}  // namespace

Expected<std::vector<NamedTensor>> compress_module(const QuantizedModule& module) { return ModuleWriter(module).run(); }

}  // namespace llmc::format
