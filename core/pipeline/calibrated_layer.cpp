// core/pipeline/calibrated_layer.cpp
#include "pipeline/calibrated_layer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "llmc/torch.h"
#include "recipe/python_regex.h"
#include "format/tensor_dtype.h"

namespace llmc::pipeline {
namespace {

std::string parent_of(std::string_view module) {
  const auto dot = module.rfind('.');
  return std::string(dot == std::string_view::npos ? std::string_view() : module.substr(0, dot));
}

// compressed-tensors target semantics for one target: "re:" regex matched at the start, else the exact name.
Expected<bool> target_matches(std::string_view target, std::string_view module) {
  if (!target.starts_with("re:")) return target == module;
  auto regex = recipe::compile_python_regex(target.substr(3));
  if (!regex) return Error{fmt::format("mapping target '{}': {}", target, regex.error().message)};
  return recipe::python_re_match(*regex, module);
}

// The lowest common ancestor of `modules`, skipping a ModuleList of experts (as the reference does).
std::string common_parent(const std::vector<std::string>& modules) {
  if (modules.size() == 1) return modules.front();
  std::string prefix = parent_of(modules.front());
  for (const auto& module : modules)
    while (!prefix.empty() && !module.starts_with(prefix + ".")) prefix = parent_of(prefix);
  if (prefix.ends_with(".experts")) prefix = parent_of(prefix);
  return prefix;
}

}  // namespace

void CalibratedLayer::sync_weights() {
  auto& weights = layer_.weights();
  for (auto& [name, edited] : unit_.edited_tensors()) {
    const auto it = weights.find(name);
    if (it == weights.end()) continue;
    // Same dtype and device: share the unit's memory, so later in-place edits reach the forward at no cost.
    it->second = edited.scalar_type() == it->second.scalar_type() && edited.device() == it->second.device()
                     ? edited
                     : edited.to(it->second.device(), it->second.scalar_type());
  }
}

Expected<llmc_dl_managed_tensor*> CalibratedLayer::module_forward(std::string_view module, int64_t batch) {
  if (cached_inputs_.empty())
    return Error{fmt::format("module_forward {}: the plugin did not declare LLMC_CAP_RUNS_MODULES, so no inputs were "
                             "kept for it", module)};
  if (batch < 0 || static_cast<size_t>(batch) >= cached_inputs_.size())
    return Error{fmt::format("module_forward {}: batch {} does not exist ({} calibration batches)", module, batch,
                             cached_inputs_.size())};
  const bool block = module == layer_.attention_block() || module == layer_.mlp_block();
  const std::string input_module = block ? layer_.block_input_linear(module) : std::string(module);
  const auto& inputs = cached_inputs_[static_cast<size_t>(batch)];
  const auto input = inputs.find(input_module);
  if (input == inputs.end())
    return Error{fmt::format("module_forward {}: the input of {} was not cached (it is not among the plugin's modules "
                             "in {})", module, input_module, name())};
  sync_weights();
  auto output = layer_.run_module(module, input->second, contexts_[static_cast<size_t>(batch)]);
  if (!output) return output.error();
  const at::Tensor flat = output->reshape({-1, output->size(-1)}).contiguous();
  auto dtype = format::to_dtype(flat.scalar_type());
  if (!dtype) return dtype.error();
  auto owned = Tensor::allocate(*dtype, flat.sizes().vec(), llmc_dl_device{LLMC_DL_CPU, 0}, nullptr);
  if (!owned) return owned.error();
  torch_bridge::as_tensor(owned->dl_view()).copy_(flat);
  return plugin::manage(std::move(*owned));
}

Expected<llmc_mapping_list> CalibratedLayer::mappings(std::string_view algorithm) {
  const model::ArchitectureTable& table = *arch_.table;
  const std::vector<model::SmoothMapping>* rows = algorithm == "awq"           ? &table.awq_mappings
                                                  : algorithm == "smoothquant" ? &table.smoothquant_mappings
                                                                               : nullptr;
  if (!rows) return Error{fmt::format("layer_mappings: unknown algorithm '{}' (expected \"awq\" or \"smoothquant\")", algorithm)};
  std::vector<std::string> names;
  for (const auto* module : unit_.modules()) names.push_back(module->name);
  auto in_callback = [&](const std::string& module) {
    return std::find(callback_modules_.begin(), callback_modules_.end(), module) != callback_modules_.end();
  };
  mapping_storage_.clear();
  for (const auto& row : *rows) {
    for (const auto& smooth : names) {
      auto is_smooth = target_matches(row.smooth_layer, smooth);
      if (!is_smooth) return is_smooth.error();
      if (!*is_smooth) continue;
      const std::string scope = parent_of(smooth) + ".";
      MappingStorage mapping{smooth, {}, {}, {}};
      for (const auto& target : row.balance_layers)
        for (const auto& module : names) {
          if (!module.starts_with(scope) || module == smooth) continue;
          auto hit = target_matches(target, module);
          if (!hit) return hit.error();
          if (*hit && std::find(mapping.balance.begin(), mapping.balance.end(), module) == mapping.balance.end())
            mapping.balance.push_back(module);
        }
      if (mapping.balance.empty() || !std::all_of(mapping.balance.begin(), mapping.balance.end(), in_callback)) continue;
      std::sort(mapping.balance.begin(), mapping.balance.end(), [&](const auto& a, const auto& b) {
        return std::find(names.begin(), names.end(), a) < std::find(names.begin(), names.end(), b);
      });
      if (mapping.balance.size() == 1 && row.smooth_layer.ends_with("v_proj$")) {
        // The reference skips v_proj -> o_proj when the widths differ (grouped-query attention).
        auto v = unit_.get(smooth, "weight", false);
        auto o = unit_.get(mapping.balance.front(), "weight", false);
        if (v && o && v->shape[0] != o->shape[1]) continue;
      }
      mapping.parent = common_parent(mapping.balance);
      mapping_storage_.push_back(std::move(mapping));
    }
  }
  mapping_items_.clear();
  for (auto& mapping : mapping_storage_) {
    for (const auto& balance : mapping.balance) mapping.balance_names.push_back(balance.c_str());
    mapping_items_.push_back(llmc_mapping{sizeof(llmc_mapping), mapping.smooth.c_str(), mapping.balance_names.size(),
                                          mapping.balance_names.data(), mapping.parent.c_str()});
  }
  return llmc_mapping_list{sizeof(llmc_mapping_list), mapping_items_.size(), mapping_items_.data()};
}

}  // namespace llmc::pipeline
