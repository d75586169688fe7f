// core/pipeline/layer_unit.cpp
#include "pipeline/layer_unit.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>

#include "format/tensor_dtype.h"
#include "llmc/torch.h"
#include "quant/observer.h"
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

Expected<std::optional<at::Tensor>> LayerUnit::fused_global_scale(std::string_view module,
                                                                 const recipe::QuantArgs& args) {
  const auto members = fusion_group(module, module_names_);
  if (members.size() < 2) return std::optional<at::Tensor>();
  if (auto it = fused_global_scales_.find(members.front()); it != fused_global_scales_.end())
    return std::optional<at::Tensor>(it->second);
  std::vector<at::Tensor> weights;
  for (const auto& member : members) {
    const auto scheme = schemes_->find(member);
    auto recorded = scheme == schemes_->end() ? Expected<RecordedQuantization>(Error{"no scheme"})
                                              : parse_scheme(*scheme->second);
    if (!recorded || !recorded->scheme.weights || recorded->scheme.weights->strategy != recipe::Strategy::tensor_group)
      return Error{fmt::format("{}: the fused layers {} share one global scale, so all must be quantized with the same "
                               "tensor_group scheme; {} is not",
                               module, fmt::join(members, ", "), member)};
    auto weight = weight_tensor(member);
    if (!weight) return weight.error();
    weights.push_back(std::move(*weight));
  }
  auto global = quant::compute_fused_global_scale(weights, args);
  if (!global) return Error{fmt::format("{}: {}", module, global.error().message)};
  fused_global_scales_.emplace(members.front(), *global);
  return std::optional<at::Tensor>(std::move(*global));
}

Status LayerUnit::quant_weight(std::string_view module, std::string_view observer) {
  const auto scheme = schemes_ ? schemes_->find(module) : SchemeMap::const_iterator();
  if (!schemes_ || scheme == schemes_->end())
    return Error{fmt::format("quant_weight: {} has no quantization scheme in this modifier", module)};
  auto recorded = parse_scheme(*scheme->second);
  if (!recorded) return Error{fmt::format("{}: {}", module, recorded.error().message)};
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
  auto qparams = quant::compute_weight_qparams(*weight, args, global);
  if (!qparams) return Error{fmt::format("{}: {}", module, qparams.error().message)};
  recorded->weight_qparams = std::move(*qparams);
  recorded->scheme_json = scheme->second;
  quantized_.insert_or_assign(std::string(module), std::move(*recorded));
  return Status::ok();
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
    LLMC_TRY(writer.add(named.name, *dtype, named.tensor.sizes().vec(), format::tensor_bytes(named.tensor)));
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
