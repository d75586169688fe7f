// core/format/read_module.cpp - a stored module back to quantized values and qparams (the inverse of
// compress_module; compressed-tensors' decompress without the dequantization).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "format/fp4_packing.h"
#include "format/int_packing.h"
#include "format/module_layout.h"
#include "format/quantized_module.h"

namespace llmc::format {
namespace {

class ModuleReader {
 public:
  ModuleReader(QuantizedModule& module, const TensorLookup& tensors) : module_(module), tensors_(tensors) {}

  Status read(at::ScalarType fallback_dtype) {
    LLMC_TRY(check_format_args(module_.format, module_.scheme));
    const recipe::QuantArgs& args = *module_.scheme.weights;
    LLMC_TRY(read_weight(args));
    auto qshape = weight_qparam_shape(args, module_.weight.sizes());
    LLMC_TRY(qshape);

    auto scale = require("weight_scale");
    LLMC_TRY(scale);
    if (scale.value().sizes() != at::IntArrayRef(*qshape)) {
      return Error{fmt::format("weight_scale has shape {}, expected {}", shape_string(scale.value().sizes()),
                               shape_string(*qshape))};
    }
    module_.weight_qparams.scale = *scale;
    const bool scale_in_weight_dtype = traits(module_.format).scale == ScaleStorage::weight_dtype;
    module_.dtype = scale_in_weight_dtype ? scale.value().scalar_type() : fallback_dtype;

    if (!args.symmetric) {
      auto zero_point = require("weight_zero_point");
      LLMC_TRY(zero_point);
      if (packs_zero_point(module_.format, args)) {
        auto unpacked = unpack_int32(*zero_point, static_cast<int>(args.num_bits), *qshape, PackDim::rows);
        if (!unpacked) return Error{"weight_zero_point: " + unpacked.error().message};
        module_.weight_qparams.zero_point = *unpacked;
      } else {
        module_.weight_qparams.zero_point = *zero_point;
      }
    }
    module_.weight_qparams.global_scale = optional("weight_global_scale");
    module_.g_idx = optional("weight_g_idx");
    read_activation("input", module_.input_qparams);
    read_activation("output", module_.output_qparams);
    return Status::ok();
  }

 private:
  at::Tensor optional(std::string_view local_name) const {
    const at::Tensor* tensor = tensors_(local_name);
    return tensor ? *tensor : at::Tensor();
  }

  Expected<at::Tensor> require(std::string_view local_name) const {
    const at::Tensor* tensor = tensors_(local_name);
    if (!tensor) return Error{fmt::format("tensor '{}.{}' is missing", module_.name, local_name)};
    return *tensor;
  }

  Status read_weight(const recipe::QuantArgs& args) {
    switch (traits(module_.format).layout) {
      case WeightLayout::unpacked: {
        auto weight = require("weight");
        LLMC_TRY(weight);
        const at::ScalarType expected = unpacked_weight_dtype(args);
        if (weight.value().scalar_type() != expected) {
          return Error{fmt::format("weight is {}, expected {}", c10::toString(weight.value().scalar_type()),
                                   c10::toString(expected))};
        }
        module_.weight = *weight;
        return Status::ok();
      }
      case WeightLayout::int32_dense: {
        auto packed = require("weight_packed");
        LLMC_TRY(packed);
        auto shape = require("weight_shape");
        LLMC_TRY(shape);
        if (shape.value().scalar_type() != at::kLong || shape.value().dim() != 1) {
          return Error{fmt::format("weight_shape must be a 1-D int64 tensor, got {} {}",
                                   c10::toString(shape.value().scalar_type()), shape_string(shape.value().sizes()))};
        }
        const at::Tensor dims = shape.value().contiguous();
        const std::vector<int64_t> sizes(dims.const_data_ptr<int64_t>(), dims.const_data_ptr<int64_t>() + dims.numel());
        auto values = unpack_int32(*packed, static_cast<int>(args.num_bits), sizes);
        if (!values) return Error{"weight_packed: " + values.error().message};
        module_.weight = *values;
        return Status::ok();
      }
      case WeightLayout::fp4_nibbles: {
        auto packed = require("weight_packed");
        LLMC_TRY(packed);
        auto values = unpack_fp4(*packed);
        if (!values) return Error{"weight_packed: " + values.error().message};
        module_.weight = *values;
        return Status::ok();
      }
    }
    return Status::ok();
  }

  void read_activation(std::string_view prefix, QParams& qparams) const {
    qparams.scale = optional(fmt::format("{}_scale", prefix));
    qparams.zero_point = optional(fmt::format("{}_zero_point", prefix));
    qparams.global_scale = optional(fmt::format("{}_global_scale", prefix));
  }

  QuantizedModule& module_;
  const TensorLookup& tensors_;
};

}  // namespace

Expected<QuantizedModule> read_module(std::string name, Format format, const recipe::SchemeArgs& scheme,
                                      const TensorLookup& tensors, at::ScalarType fallback_dtype) {
  QuantizedModule module;
  module.name = std::move(name);
  module.format = format;
  module.scheme = scheme;
  if (auto status = ModuleReader(module, tensors).read(fallback_dtype); !status) {
    return Error{fmt::format("module '{}' ({}): {}", module.name, to_string(format), status.error().message)};
  }
  return module;
}

}  // namespace llmc::format
