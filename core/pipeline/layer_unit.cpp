// core/pipeline/layer_unit.cpp
#include "pipeline/layer_unit.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>

#include "format/tensor_dtype.h"
#include "pipeline/activation_observers.h"
#include "llmc/torch.h"
#include "quant/column_quantize.h"
#include "quant/observer.h"
#include "quant/quantize.h"
#include "tensor/convert.h"

namespace llmc::pipeline {
namespace {

std::string full_name(std::string_view module, std::string_view tensor) {
  return module.empty() ? std::string(tensor) : fmt::format("{}.{}", module, tensor);
}

}  // namespace

LayerUnit::LayerUnit(const model::Checkpoint& checkpoint, std::vector<const model::ModuleEntry*> modules,
                     int32_t index, std::string name, MemoryBudget* budget)
    : checkpoint_(checkpoint), modules_(std::move(modules)), index_(index), name_(std::move(name)), budget_(budget) {
  for (const auto* module : modules_) {
    module_names_.push_back(module->name);
    for (const auto& [suffix, tensor_name] : module->tensors) {
      auto ref = checkpoint_.find(tensor_name);
      Slot slot;
      slot.source = ref;
      if (ref) slot.shape = ref->info->shape;
      slots_.emplace(tensor_name, std::move(slot));
      order_.push_back(tensor_name);
    }
  }
}

LayerUnit::~LayerUnit() {
  for (const auto& [name, slot] : slots_)
    if (slot.read) slot.source->file->release(*slot.source->info);
}

bool LayerUnit::owns_module(std::string_view module) const {
  return std::any_of(modules_.begin(), modules_.end(), [&](const auto* m) { return m->name == module; });
}

Expected<LayerUnit::Slot*> LayerUnit::find_slot(std::string_view module, std::string_view tensor) {
  if (!owns_module(module))
    return Error{fmt::format("module '{}' is not part of {} (a plugin may only touch the modules it was given)",
                             module, name_)};
  auto it = slots_.find(full_name(module, tensor));
  if (it == slots_.end()) return Error{fmt::format("{} has no tensor '{}'", module, tensor)};
  return &it->second;
}

Expected<llmc_dl_tensor> LayerUnit::get(std::string_view module, std::string_view tensor, bool write) {
  auto slot = find_slot(module, tensor);
  if (!slot) return slot.error();
  Slot& s = **slot;
  if (!s.owned) s.read = true;
  if (!s.owned && write) {
    const auto& info = *s.source->info;
    auto copy = Tensor::allocate(info.dtype, info.shape, llmc_dl_device{LLMC_DL_CPU, 0}, budget_);
    if (!copy) return copy.error();
    const auto bytes = s.source->file->data(info);
    std::copy(bytes.begin(), bytes.end(), static_cast<std::byte*>(copy->data()));
    s.owned = std::move(*copy);
  }
  if (s.owned) return s.owned->dl_view();
  const auto bytes = s.source->file->data(*s.source->info);
  llmc_dl_tensor view{};
  view.data = const_cast<std::byte*>(bytes.data());  // read-only by the LLMC_ACCESS_READ contract
  view.device = {LLMC_DL_CPU, 0};
  view.ndim = static_cast<int32_t>(s.shape.size());
  view.dtype = to_dl(s.source->info->dtype);
  view.shape = s.shape.data();
  return view;
}

Status LayerUnit::set(std::string_view module, std::string_view tensor, const llmc_dl_tensor& value) {
  if (!owns_module(module))
    return Error{fmt::format("tensor_set: module '{}' is not part of {}", module, name_)};
  auto dtype = dtype_from_dl(value.dtype);
  if (!dtype) return Error{fmt::format("tensor_set {}.{}: unsupported DLPack dtype code {} with {} bits", module, tensor,
                                       value.dtype.code, value.dtype.bits)};
  if (value.ndim < 0 || (value.ndim > 0 && value.shape == nullptr))
    return Error{fmt::format("tensor_set {}.{}: bad shape", module, tensor)};
  auto copy = Tensor::allocate(*dtype, std::vector<int64_t>(value.shape, value.shape + value.ndim),
                               llmc_dl_device{LLMC_DL_CPU, 0}, budget_);
  if (!copy) return copy.error();
  LLMC_TRY(copy_convert(value, copy->dl_view()));
  const std::string name = full_name(module, tensor);
  auto [it, inserted] = slots_.try_emplace(name);
  it->second.owned = std::move(*copy);
  if (inserted) order_.push_back(name);
  return Status::ok();
}

void LayerUnit::set_schemes(const SchemeMap* schemes) {
  schemes_ = schemes;
  fused_global_scales_.clear();  // a modifier's fused scales come from the weights as it sees them
}

Expected<at::Tensor> LayerUnit::weight_tensor(std::string_view module) {
  auto view = get(module, "weight", false);
  if (!view) return view.error();
  return torch_bridge::as_tensor(*view);
}

const quant::InputImportance* LayerUnit::input_importance(std::string_view module) const {
  const auto it = input_importance_.find(module);
  return it == input_importance_.end() ? nullptr : &it->second;
}

Expected<RecordedQuantization> LayerUnit::scheme_of(std::string_view module, std::string_view caller) const {
  const auto scheme = schemes_ ? schemes_->find(module) : SchemeMap::const_iterator();
  if (!schemes_ || scheme == schemes_->end())
    return Error{fmt::format("{}: {} has no quantization scheme in this modifier", caller, module)};
  auto recorded = parse_scheme(*scheme->second);
  if (!recorded) return Error{fmt::format("{}: {}", module, recorded.error().message)};
  recorded->scheme_json = scheme->second;
  return recorded;
}

Expected<std::optional<at::Tensor>> LayerUnit::current_global_scale(std::string_view module,
                                                                   const recipe::QuantArgs& args) {
  const auto members = fusion_group(module, module_names_);
  std::vector<at::Tensor> weights;
  std::vector<const quant::InputImportance*> importances;
  for (const auto& member : members) {
    auto recorded = scheme_of(member, "fused global scale");
    if (!recorded || !recorded->scheme.weights || recorded->scheme.weights->strategy != recipe::Strategy::tensor_group)
      return Error{fmt::format("{}: the fused layers {} share one global scale, so all must be quantized with the same "
                               "tensor_group scheme; {} is not",
                               module, fmt::join(members, ", "), member)};
    auto weight = weight_tensor(member);
    if (!weight) return weight.error();
    weights.push_back(std::move(*weight));
    importances.push_back(input_importance(member));
  }
  auto global = quant::compute_fused_global_scale(weights, args, importances);
  if (!global) return Error{fmt::format("{}: {}", module, global.error().message)};
  return std::optional<at::Tensor>(std::move(*global));
}

Expected<std::optional<at::Tensor>> LayerUnit::fused_global_scale(std::string_view module,
                                                                 const recipe::QuantArgs& args) {
  const auto members = fusion_group(module, module_names_);
  if (members.size() < 2) return std::optional<at::Tensor>();
  if (auto it = fused_global_scales_.find(members.front()); it != fused_global_scales_.end())
    return std::optional<at::Tensor>(it->second);
  auto global = current_global_scale(module, args);
  if (global && *global) fused_global_scales_.emplace(members.front(), **global);
  return global;
}

Status LayerUnit::quant_weight(std::string_view module, std::string_view observer) {
  auto recorded = scheme_of(module, "quant_weight");
  if (!recorded) return recorded.error();
  if (!recorded->scheme.weights) return Status::ok();
  recipe::QuantArgs& args = *recorded->scheme.weights;
  if (!observer.empty()) args.observer = std::string(observer);
  auto weight = weight_tensor(module);
  if (!weight) return weight.error();
  std::optional<at::Tensor> global;
  if (args.strategy == recipe::Strategy::tensor_group) {
    auto fused = fused_global_scale(module, args);
    if (!fused) return fused.error();
    global = std::move(*fused);
  }
  const quant::InputImportance* importance = input_importance(module);
  auto qparams = quant::compute_weight_qparams(*weight, args, global, importance);
  if (!qparams) return Error{fmt::format("{}: {}", module, qparams.error().message)};
  recorded->weight_qparams = std::move(*qparams);
  quantized_.insert_or_assign(std::string(module), std::move(*recorded));
  return Status::ok();
}

Status LayerUnit::fake_quantize(std::string_view module, const llmc_dl_tensor& values, const llmc_dl_tensor* columns,
                                const llmc_dl_tensor& out) {
  const auto recorded = quantized_.find(module);
  if (recorded == quantized_.end())
    return Error{fmt::format("quant_fake_quantize: no quantization was recorded for {} (call quant_weight first)", module)};
  const at::Tensor input = torch_bridge::as_tensor(values);
  const at::Tensor index = columns ? torch_bridge::as_tensor(*columns)
                                   : at::arange(input.size(-1), at::TensorOptions().dtype(at::kLong));
  auto result = quant::fake_quantize_columns(input, index, recorded->second.weight_qparams,
                                             *recorded->second.scheme.weights);
  if (!result) return Error{fmt::format("quant_fake_quantize {}: {}", module, result.error().message)};
  at::Tensor target = torch_bridge::as_tensor(out);
  if (target.sizes() != result->sizes())
    return Error{fmt::format("quant_fake_quantize {}: out has shape {}, values {}", module, c10::str(target.sizes()),
                             c10::str(result->sizes()))};
  target.copy_(*result);
  return Status::ok();
}

Status LayerUnit::fake_quantize_weight(std::string_view module, const llmc_dl_tensor& out) {
  auto recorded = scheme_of(module, "quant_fake_quantize_weight");
  if (!recorded) return recorded.error();
  if (!recorded->scheme.weights) return Error{fmt::format("quant_fake_quantize_weight: {}'s scheme quantizes no weight", module)};
  recipe::QuantArgs args = *recorded->scheme.weights;
  args.observer = "memoryless_minmax";
  auto weight = weight_tensor(module);
  if (!weight) return weight.error();
  std::optional<at::Tensor> global;
  if (args.strategy == recipe::Strategy::tensor_group) {
    auto current = current_global_scale(module, args);
    if (!current) return current.error();
    global = std::move(*current);
  }
  auto qparams = quant::compute_weight_qparams(*weight, args, global);
  if (!qparams) return Error{fmt::format("{}: {}", module, qparams.error().message)};
  auto result = quant::fake_quantize(*weight, *qparams, args);
  if (!result) return Error{fmt::format("{}: {}", module, result.error().message)};
  at::Tensor target = torch_bridge::as_tensor(out);
  if (target.sizes() != result->sizes())
    return Error{fmt::format("quant_fake_quantize_weight {}: out has shape {}, the weight {}", module,
                             c10::str(target.sizes()), c10::str(result->sizes()))};
  target.copy_(*result);
  return Status::ok();
}

Status LayerUnit::record_activations(const std::map<std::string, ObservedParams>& params, at::ScalarType dtype) {
  for (const auto& [module, observed] : params) {
    if (const auto recorded = quantized_.find(module); recorded != quantized_.end()) {
      recorded->second.input_qparams = observed.first;
      recorded->second.output_qparams = observed.second;
      continue;
    }
    if (owns_module(module))
      return Error{fmt::format("{}: its activations are quantized statically but its weight is not quantized, which llmc "
                               "does not write", module)};
    // An attention block: the KV cache's scales.
    for (const auto& [local, qparams] : {std::pair{"k_scale", observed.first}, std::pair{"v_scale", observed.second}}) {
      if (!qparams) continue;
      const at::Tensor scale = qparams->scale.to(dtype).contiguous();
      auto stored = Tensor::allocate(*format::to_dtype(dtype), scale.sizes().vec(), llmc_dl_device{LLMC_DL_CPU, 0}, budget_);
      if (!stored) return stored.error();
      torch_bridge::as_tensor(stored->dl_view()).copy_(scale);
      const std::string name = full_name(module, local);
      auto [it, inserted] = slots_.try_emplace(name);
      it->second.owned = std::move(*stored);
      if (inserted) order_.push_back(name);
    }
  }
  return Status::ok();
}

std::map<std::string, at::Tensor, std::less<>> LayerUnit::edited_tensors() const {
  std::map<std::string, at::Tensor, std::less<>> edited;
  for (const auto& [name, slot] : slots_)
    if (slot.owned) edited.emplace(name, torch_bridge::as_tensor(slot.owned->dl_view()));
  return edited;
}

void LayerUnit::collect_quantized(std::map<std::string, const nlohmann::json*>& out) const {
  for (const auto& [module, recorded] : quantized_) out[module] = recorded.scheme_json;
}

Status LayerUnit::write_quantized(model::SafetensorsWriter& writer, const std::string& module) {
  auto weight = weight_tensor(module);
  if (!weight) return weight.error();
  auto tensors = quantized_tensors(module, *weight, quantized_.find(module)->second);
  if (!tensors) return tensors.error();
  for (const auto& named : *tensors) {
    auto dtype = format::to_dtype(named.tensor.scalar_type());
    if (!dtype) return Error{fmt::format("{}: {}", named.name, dtype.error().message)};
    // written while the next modules quantize; the tensor lives until then
    LLMC_TRY(writer.add_async(named.name, *dtype, named.tensor.sizes().vec(), format::tensor_bytes(named.tensor),
                              std::make_shared<at::Tensor>(named.tensor)));
  }
  return Status::ok();
}

Status LayerUnit::write_to(model::SafetensorsWriter& writer) {
  for (const auto& name : order_) {
    const Slot& slot = slots_.find(name)->second;
    const std::string module = name.substr(0, name.rfind('.'));
    if (name.ends_with(".weight") && quantized_.count(module)) {
      LLMC_TRY(write_quantized(writer, module));
      continue;
    }
    if (slot.owned) {
      const Tensor& t = *slot.owned;
      LLMC_TRY(writer.add(name, t.dtype(), t.shape(),
                          std::span<const std::byte>(static_cast<const std::byte*>(t.data()), t.nbytes())));
      continue;
    }
    const auto& info = *slot.source->info;
    LLMC_TRY(writer.add_from_file(name, info.dtype, info.shape, slot.source->file->fd(), info.offset, info.nbytes));
  }
  return Status::ok();
}

}  // namespace llmc::pipeline
