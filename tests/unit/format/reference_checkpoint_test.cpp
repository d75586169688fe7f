// tests/unit/format/reference_checkpoint_test.cpp - every reference checkpoint (LLM Compressor's data-free
// QuantizationModifier, saved compressed) read back with read_module, re-written with compress_module:
// the tensors must be byte-identical (names, dtypes, shapes, bytes). The read values must also dequantize
// close to the unquantized model, so the reader decodes what the writer encodes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "format/config_reader.h"
#include "format/e8m0.h"
#include "format/quantized_module.h"
#include "format/test_support.h"

namespace llmc::format {
namespace {

using recipe::Strategy;

// The scale of every weight element (scale_eff = scale / global_scale), for 2-D weights without g_idx.
at::Tensor expand_to_weight(const at::Tensor& qparam, const recipe::QuantArgs& args, at::IntArrayRef weight) {
  const int64_t out = weight[0], in = weight[1];
  switch (*args.strategy) {
    case Strategy::tensor:
    case Strategy::channel: return qparam.expand({out, in});
    case Strategy::group:
    case Strategy::tensor_group:
      return qparam.repeat_interleave(*args.group_size, 1).narrow(1, 0, in);
    case Strategy::block:
      return qparam.repeat_interleave((*args.block_structure)[0], 0)
          .repeat_interleave((*args.block_structure)[1], 1)
          .narrow(0, 0, out)
          .narrow(1, 0, in);
    default: return {};
  }
}

at::Tensor dequantize(const QuantizedModule& module) {
  const auto& args = *module.scheme.weights;
  const auto& qparams = module.weight_qparams;
  at::Tensor scale = traits(module.format).scale == ScaleStorage::e8m0 ? decode_e8m0(qparams.scale)
                                                                        : qparams.scale.to(at::kFloat);
  if (qparams.global_scale.defined()) scale = scale / qparams.global_scale.to(at::kFloat);
  at::Tensor values = module.weight.to(at::kFloat);
  if (qparams.zero_point.defined()) {
    values = values - expand_to_weight(qparams.zero_point.to(at::kFloat), args, module.weight.sizes());
  }
  return values * expand_to_weight(scale, args, module.weight.sizes());
}

class ReferenceCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceCheckpoint, ReadAndRewriteIsByteIdentical) {
  const auto dir = testing::reference_dir();
  ASSERT_FALSE(dir.empty());
  const std::string case_name = GetParam();
  const auto reference = testing::read_safetensors(dir / case_name / "model.safetensors");
  const auto base = testing::read_safetensors(dir / "base" / "model.safetensors");
  const auto config = testing::read_json(dir / case_name / "config.json");
  auto quantization = parse_quantization_config(config["quantization_config"]);
  ASSERT_TRUE(quantization) << quantization.error().message;

  const std::vector<std::string> linear = {"Linear"};
  std::set<std::string> written;
  int modules = 0;
  const auto cases = testing::read_json(dir / "cases.json");
  for (const auto& entry : cases["modules"]) {
    const std::string name = entry[0];
    if (entry[1] != "Linear") continue;
    auto group = quantization->find_group(name, linear);
    ASSERT_TRUE(group) << group.error().message;
    if (!*group) {
      EXPECT_TRUE(reference.contains(name + ".weight")) << name << " is not quantized";
      continue;
    }
    const TensorLookup lookup = [&](std::string_view local) -> const at::Tensor* {
      const auto found = reference.find(name + "." + std::string(local));
      return found == reference.end() ? nullptr : &found->second;
    };
    auto module = read_module(name, (*group)->format, (*group)->scheme, lookup, at::kBFloat16);
    ASSERT_TRUE(module) << module.error().message;
    EXPECT_EQ(module->dtype, at::kBFloat16) << name;
    auto tensors = compress_module(*module);
    ASSERT_TRUE(tensors) << tensors.error().message;
    for (const auto& [tensor_name, tensor] : *tensors) {
      const auto found = reference.find(tensor_name);
      ASSERT_NE(found, reference.end()) << "not in the reference: " << tensor_name;
      EXPECT_TRUE(testing::same_bytes(tensor, found->second))
          << tensor_name << ": ours " << tensor.scalar_type() << " " << tensor.sizes() << ", reference "
          << found->second.scalar_type() << " " << found->second.sizes();
      written.insert(tensor_name);
    }
    for (const auto& [tensor_name, _] : reference) {
      if (tensor_name.starts_with(name + ".")) EXPECT_TRUE(written.contains(tensor_name)) << "not written: " << tensor_name;
    }

    const at::Tensor original = base.at(name + ".weight").to(at::kFloat);
    const double error = (dequantize(*module) - original).norm().item<double>() / original.norm().item<double>();
    const auto& args = *module->scheme.weights;
    const double bound = args.num_bits >= 8 ? 0.05 : args.num_bits >= 4 ? 0.2 : 0.7;
    EXPECT_LT(error, bound) << name << " dequantizes far from the unquantized weight";
    ++modules;
  }
  EXPECT_GT(modules, 0);
}

INSTANTIATE_TEST_SUITE_P(Format, ReferenceCheckpoint,
                         ::testing::Values("w4a16", "w4a16_asym", "w8a16", "w8a8", "fp8_dynamic", "fp8_block",
                                           "nvfp4a16", "mxfp4a16", "mixed", "mlp_only", "odd_bits"));

}  // namespace
}  // namespace llmc::format
