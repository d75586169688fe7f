// core/pipeline/layer_unit.cpp
#include "pipeline/layer_unit.h"

#include <fmt/format.h>

#include <algorithm>

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

Status LayerUnit::write_to(model::SafetensorsWriter& writer) const {
  for (const auto& name : order_) {
    const Slot& slot = slots_.find(name)->second;
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
