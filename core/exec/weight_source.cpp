// core/exec/weight_source.cpp - plain and compressed-tensors checkpoints as dense weights.
#include "exec/weight_source.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <map>
#include <optional>

#include "format/config_reader.h"
#include "format/e8m0.h"
#include "format/quantized_module.h"
#include "llmc/torch.h"
#include "quant/quantize.h"

namespace llmc::exec {
namespace {

Expected<at::ScalarType> scalar_type_of(const model::TensorInfo& info, const model::Checkpoint& checkpoint) {
  try {
    return torch_bridge::scalar_type(to_dl(info.dtype));
  } catch (const c10::Error&) {
    return Error{fmt::format("{}: tensor '{}' has dtype {}, which has no torch type", checkpoint.dir().string(),
                             info.name, name(info.dtype))};
  }
}

// The dequantization compressed-tensors' decompress runs: (q - zero_point) * scale / global_scale in the
// scale's dtype, cast to the original weight dtype.
Expected<at::Tensor> dequantize_module(const format::QuantizedModule& module) {
  quant::QParams qparams;
  qparams.scale = format::traits(module.format).scale == format::ScaleStorage::e8m0
                      ? format::decode_e8m0(module.weight_qparams.scale)
                      : module.weight_qparams.scale;
  // float8 scales (NVFP4's) decompress to float first, as compressed-tensors' _decompress_scale does
  if (at::isFloat8Type(qparams.scale.scalar_type())) qparams.scale = qparams.scale.to(at::kFloat);
  if (module.weight_qparams.zero_point.defined()) qparams.zero_point = module.weight_qparams.zero_point;
  if (module.weight_qparams.global_scale.defined()) qparams.global_scale = module.weight_qparams.global_scale;
  if (module.g_idx.defined()) qparams.g_idx = module.g_idx;
  auto dense = quant::dequantize(module.weight, qparams, *module.scheme.weights, module.dtype);
  if (!dense) return Error{fmt::format("module '{}': {}", module.name, dense.error().message)};
  return dense;
}

// The activation quantization of a read module: the scheme's args for one side with the qparams stored for it
// (moved to the compute dtype and device, as loading the model in that dtype does).
Expected<std::optional<QuantizedActivation>> activation(const format::QuantizedModule& module, std::string_view side,
                                                        const std::optional<recipe::QuantArgs>& args,
                                                        const format::QParams& stored, const ComputeOptions& options) {
  if (!args) return std::optional<QuantizedActivation>();
  if (args->dynamic == recipe::Dynamic::off && !stored.scale.defined())
    return Error{fmt::format("module '{}': {}_activations are static but tensor '{}.{}_scale' is missing", module.name,
                             side, module.name, side)};
  if (args->strategy == recipe::Strategy::tensor_group && !stored.global_scale.defined())
    return Error{fmt::format("module '{}': {}_activations are tensor_group but tensor '{}.{}_global_scale' is missing",
                             module.name, side, module.name, side)};
  auto convert = [&](const at::Tensor& t) {
    return t.to(options.device, at::isFloatingType(t.scalar_type()) ? options.dtype : t.scalar_type(), false, true);
  };
  QuantizedActivation out{*args, {}};
  if (stored.scale.defined()) out.stored.scale = convert(stored.scale);
  if (stored.zero_point.defined()) out.stored.zero_point = convert(stored.zero_point);
  if (stored.global_scale.defined()) out.stored.global_scale = convert(stored.global_scale);
  return std::optional<QuantizedActivation>(std::move(out));
}

// A read module as the runner computes it: the dequantized weight and, when asked, its activation quantization.
Expected<LinearWeight> linear_of(const format::QuantizedModule& module, const ComputeOptions& options) {
  auto dense = dequantize_module(module);
  LLMC_TRY(dense);
  LinearWeight out{dense->to(options.device, options.dtype, /*non_blocking=*/false, /*copy=*/true), {}};
  if (!options.quantize_activations) return out;
  auto input = activation(module, "input", module.scheme.input_activations, module.input_qparams, options);
  LLMC_TRY(input);
  auto output = activation(module, "output", module.scheme.output_activations, module.output_qparams, options);
  LLMC_TRY(output);
  out.activations = {std::move(*input), std::move(*output)};
  return out;
}

class CheckpointWeights final : public WeightSource {
 public:
  CheckpointWeights(const model::Checkpoint& checkpoint, ComputeOptions options,
                    std::optional<format::CheckpointQuantization> quantization, at::ScalarType fallback_dtype)
      : checkpoint_(checkpoint), options_(options), quantization_(std::move(quantization)), fallback_dtype_(fallback_dtype) {}

  Expected<at::Tensor> tensor(std::string_view name) override {
    auto stored = stored_tensor(name);
    LLMC_TRY(stored);
    return finish(*stored, name);
  }

  Expected<LinearWeight> linear_weight(std::string_view module) override {
    const std::string weight_name = fmt::format("{}.weight", module);
    auto plain = [&]() -> Expected<LinearWeight> {
      auto weight = tensor(weight_name);
      LLMC_TRY(weight);
      return LinearWeight{std::move(*weight), {}};
    };
    if (!quantization_) return plain();
    static const std::vector<std::string> kLinear = {"Linear"};
    auto group = quantization_->find_group(module, kLinear);
    if (!group) return Error{fmt::format("{}: {}", checkpoint_.dir().string(), group.error().message)};
    if (!*group) return plain();

    std::map<std::string, at::Tensor, std::less<>> stored;  // views of the module's tensors, by local name
    std::vector<std::string> read;
    std::optional<Error> read_error;  // a stored tensor that cannot be viewed (not "missing")
    const format::TensorLookup lookup = [&](std::string_view local) -> const at::Tensor* {
      const std::string full = fmt::format("{}.{}", module, local);
      if (auto found = stored.find(local); found != stored.end()) return &found->second;
      if (!checkpoint_.find(full)) return nullptr;
      auto view = stored_tensor(full);
      if (!view) {
        read_error = view.error();
        return nullptr;
      }
      read.push_back(full);
      return &stored.emplace(std::string(local), *view).first->second;
    };
    auto quantized = format::read_module(std::string(module), (*group)->format, (*group)->scheme, lookup, fallback_dtype_);
    Expected<LinearWeight> linear = read_error  ? Expected<LinearWeight>(*read_error)
                                    : quantized ? linear_of(*quantized, options_)
                                                : Expected<LinearWeight>(quantized.error());
    stored.clear();
    for (const auto& full : read) release(full);
    if (!linear) return Error{fmt::format("{}: {}", checkpoint_.dir().string(), linear.error().message)};
    return linear;
  }

 private:
  // A view of the mapped bytes (valid until release()).
  Expected<at::Tensor> stored_tensor(std::string_view name) const {
    auto ref = checkpoint_.tensor(name);
    LLMC_TRY(ref);
    auto type = scalar_type_of(*ref->info, checkpoint_);
    LLMC_TRY(type);
    const auto bytes = ref->file->data(*ref->info);
    return at::from_blob(const_cast<std::byte*>(bytes.data()), ref->info->shape, at::TensorOptions().dtype(*type));
  }

  // An owned copy in the compute dtype and device; the mapped pages are given back.
  at::Tensor finish(const at::Tensor& view, std::string_view name) const {
    const bool is_float = at::isFloatingType(view.scalar_type());
    at::Tensor owned = view.to(options_.device, is_float ? options_.dtype : view.scalar_type(), false, /*copy=*/true);
    release(name);
    return owned;
  }

  void release(std::string_view name) const {
    if (auto ref = checkpoint_.find(name)) ref->file->release(*ref->info);
  }

  const model::Checkpoint& checkpoint_;
  ComputeOptions options_;
  std::optional<format::CheckpointQuantization> quantization_;
  at::ScalarType fallback_dtype_;
};

}  // namespace

Expected<at::ScalarType> checkpoint_dtype(const model::Checkpoint& checkpoint) {
  const auto& config = checkpoint.config();
  for (const char* key : {"dtype", "torch_dtype"}) {
    const auto found = config.find(key);
    if (found == config.end() || found->is_null()) continue;
    const std::string name = found->is_string() ? found->get<std::string>() : found->dump();
    if (name == "float32") return at::kFloat;
    if (name == "bfloat16") return at::kBFloat16;
    if (name == "float16") return at::kHalf;
    return Error{fmt::format("{}/config.json: \"{}\" = {} is not a compute dtype (float32, bfloat16, float16)",
                             checkpoint.dir().string(), key, found->dump())};
  }
  return at::kFloat;
}

Expected<std::unique_ptr<WeightSource>> open_weight_source(const model::Checkpoint& checkpoint, ComputeOptions options) {
  std::optional<format::CheckpointQuantization> quantization;
  if (const auto found = checkpoint.config().find("quantization_config"); found != checkpoint.config().end() && !found->is_null()) {
    auto parsed = format::parse_quantization_config(*found);
    if (!parsed) return Error{fmt::format("{}/config.json: quantization_config: {}", checkpoint.dir().string(), parsed.error().message)};
    quantization = std::move(*parsed);
  }
  auto fallback = checkpoint_dtype(checkpoint);
  LLMC_TRY(fallback);
  return std::unique_ptr<WeightSource>(std::make_unique<CheckpointWeights>(checkpoint, options, std::move(quantization), *fallback));
}

}  // namespace llmc::exec
