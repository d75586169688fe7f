// core/pipeline/calibrated_layer.h - a decoder layer during a calibrated run, as plugins reach it through
// llmc_layer: the unit's tensors (LayerUnit) plus what calibration adds: the layer's computation
// (module_forward on cached inputs) and the architecture's smoothing mappings.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <span>
#include <string>
#include <vector>

#include "exec/decoder_layer.h"
#include "model/architecture.h"
#include "pipeline/layer_unit.h"
#include "plugin/host_api.h"

namespace llmc::pipeline {

/// Inputs of the layer's Linears in one calibration batch, by module name (tensors shared by modules that read
/// the same input are stored once).
using CachedInputs = std::map<std::string, at::Tensor, std::less<>>;

class CalibratedLayer final : public plugin::LayerAccess {
 public:
  CalibratedLayer(LayerUnit& unit, exec::DecoderLayer& layer, const model::Architecture& arch,
                  std::span<const exec::BatchContext> contexts)
      : unit_(unit), layer_(layer), arch_(arch), contexts_(contexts) {}

  int32_t index() const override { return unit_.index(); }
  const std::string& name() const override { return unit_.name(); }
  Expected<llmc_dl_tensor> get(std::string_view module, std::string_view tensor, bool write) override {
    return unit_.get(module, tensor, write);
  }
  Status set(std::string_view module, std::string_view tensor, const llmc_dl_tensor& value) override {
    return unit_.set(module, tensor, value);
  }
  Status quant_weight(std::string_view module, std::string_view observer) override {
    return unit_.quant_weight(module, observer);
  }
  Status fake_quantize(std::string_view module, const llmc_dl_tensor& values, const llmc_dl_tensor* columns,
                       const llmc_dl_tensor& out) override {
    return unit_.fake_quantize(module, values, columns, out);
  }
  Status fake_quantize_weight(std::string_view module, const llmc_dl_tensor& out) override {
    return unit_.fake_quantize_weight(module, out);
  }
  Expected<llmc_dl_managed_tensor*> module_forward(std::string_view module, int64_t batch) override;
  Expected<llmc_mapping_list> mappings(std::string_view algorithm) override;

  /// The modules of the callback about to run (mappings keep those whose balance layers are all among them).
  void set_callback_modules(std::vector<std::string> modules) { callback_modules_ = std::move(modules); }
  /// The inputs module_forward runs on, one map per batch (empty: module_forward is unavailable).
  void set_cached_inputs(std::vector<CachedInputs> inputs) { cached_inputs_ = std::move(inputs); }
  /// Points the layer's computation at the tensors plugins edited, so forwards see the edits.
  void sync_weights();

 private:
  struct MappingStorage {
    std::string smooth, parent;
    std::vector<std::string> balance;
    std::vector<const char*> balance_names;
  };

  LayerUnit& unit_;
  exec::DecoderLayer& layer_;
  const model::Architecture& arch_;
  std::span<const exec::BatchContext> contexts_;
  std::vector<std::string> callback_modules_;
  std::vector<CachedInputs> cached_inputs_;
  std::vector<MappingStorage> mapping_storage_;  // what the last mappings() result points into
  std::vector<llmc_mapping> mapping_items_;
};

}  // namespace llmc::pipeline
