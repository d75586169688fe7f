// core/pipeline/layer_unit.h - one unit of work held in memory: the modules of one decoder layer (or one
// module outside the layers) and their tensors, as plugins see them through llmc_layer.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/module_map.h"
#include "model/safetensors_writer.h"
#include "pipeline/activation_observers.h"
#include "pipeline/weight_quantization.h"
#include "plugin/host_api.h"
#include "tensor/tensor.h"

namespace llmc::pipeline {

/// Module name -> the resolved QuantizationScheme JSON a modifier gives it.
using SchemeMap = std::map<std::string, const nlohmann::json*, std::less<>>;

/// Tensors are read lazily from the memory-mapped checkpoint, copied on first write access, and
/// written out in checkpoint order followed by the tensors plugins added. Memory held: the edited
/// and added tensors of this unit only.
class LayerUnit final : public plugin::LayerAccess {
 public:
  LayerUnit(const model::Checkpoint& checkpoint, std::vector<const model::ModuleEntry*> modules, int32_t index,
            std::string name, MemoryBudget* budget);
  /// Unmaps the checkpoint pages this unit read, so resident memory stays at one unit.
  ~LayerUnit() override;

  int32_t index() const override { return index_; }
  const std::string& name() const override { return name_; }
  Expected<llmc_dl_tensor> get(std::string_view module, std::string_view tensor, bool write) override;
  Status set(std::string_view module, std::string_view tensor, const llmc_dl_tensor& value) override;
  Status quant_weight(std::string_view module, std::string_view observer) override;
  Status fake_quantize(std::string_view module, const llmc_dl_tensor& values, const llmc_dl_tensor* columns,
                       const llmc_dl_tensor& out) override;
  Status fake_quantize_weight(std::string_view module, const llmc_dl_tensor& out) override;

  /// Records the calibrated activation parameters of the unit's modules (after their weights were recorded),
  /// and stores k_scale / v_scale of attention blocks in `dtype`.
  Status record_activations(const std::map<std::string, ObservedParams>& params, at::ScalarType dtype);

  /// The tensors plugins wrote or added so far, by full name (views of the unit's copies, valid while it lives).
  std::map<std::string, at::Tensor, std::less<>> edited_tensors() const;

  /// The schemes of the modifier about to compress this unit (nullptr: it sets none).
  void set_schemes(const SchemeMap* schemes);
  /// The importance of its modules' inputs that the calibration pass of the modifier about to compress this
  /// unit gathered, for imatrix_mse weight observers (modules without one weigh their search uniformly).
  void set_input_importance(InputImportances importance) { input_importance_ = std::move(importance); }

  const std::vector<const model::ModuleEntry*>& modules() const { return modules_; }
  /// Writes every tensor of the unit: unchanged ones copied file to file, edited and added ones from memory,
  /// and the weights of quantized modules quantized and packed in their scheme's format.
  Status write_to(model::SafetensorsWriter& writer);
  size_t tensor_count() const { return order_.size(); }
  /// Adds the modules quantized in this unit, with their schemes, to `out`.
  void collect_quantized(std::map<std::string, const nlohmann::json*>& out) const;

 private:
  struct Slot {
    std::optional<model::TensorRef> source;  // where it comes from in the checkpoint, if anywhere
    std::optional<Tensor> owned;             // the edited or added value
    std::vector<int64_t> shape;              // storage for views of `source`
    bool read = false;                       // whether `source` pages were touched
  };
  Expected<Slot*> find_slot(std::string_view module, std::string_view tensor);
  bool owns_module(std::string_view module) const;
  Expected<at::Tensor> weight_tensor(std::string_view module);
  const quant::InputImportance* input_importance(std::string_view module) const;
  Expected<std::optional<at::Tensor>> fused_global_scale(std::string_view module, const recipe::QuantArgs& args);
  /// The global scale `module` would share with its fused siblings now (not cached: AWQ edits weights between calls).
  Expected<std::optional<at::Tensor>> current_global_scale(std::string_view module, const recipe::QuantArgs& args);
  Expected<RecordedQuantization> scheme_of(std::string_view module, std::string_view caller) const;
  Status write_quantized(model::SafetensorsWriter& writer, const std::string& module);

  const model::Checkpoint& checkpoint_;
  std::vector<const model::ModuleEntry*> modules_;
  int32_t index_;
  std::string name_;
  MemoryBudget* budget_;
  std::map<std::string, Slot, std::less<>> slots_;  // by full tensor name
  std::vector<std::string> order_;                  // output order
  std::vector<std::string> module_names_;
  const SchemeMap* schemes_ = nullptr;
  std::map<std::string, RecordedQuantization, std::less<>> quantized_;  // by module name
  std::map<std::string, at::Tensor, std::less<>> fused_global_scales_;  // by fusion group's first member
  InputImportances input_importance_;
};

}  // namespace llmc::pipeline
