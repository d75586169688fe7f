// core/plugin/host_api.h - the host side of the C ABI: the function table, and the definitions of
// the opaque types it hands to plugins (llmc_status, llmc_host_ctx, llmc_layer).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "llmc/plugin.h"
#include "recipe/plugin_options.h"
#include "tensor/tensor.h"
#include "util/expected.h"

namespace llmc {
class MemoryBudget;
}

namespace llmc::plugin {

/// The table every plugin receives; static, valid for the life of the process.
const llmc_host_api& host_api();

/// The LibTorch version this host is built with ("" without LibTorch); plugins that link torch must match.
std::string_view host_torch_version();

/// What a plugin's llmc_layer handle reaches: the tensors of the unit of work the host holds.
class LayerAccess {
 public:
  virtual ~LayerAccess() = default;
  virtual int32_t index() const = 0;
  virtual const std::string& name() const = 0;
  /// A view of `module`.`tensor`, valid until the current callback returns.
  virtual Expected<llmc_dl_tensor> get(std::string_view module, std::string_view tensor, bool write) = 0;
  /// Adds or replaces `module`.`tensor` with a copy of `value`.
  virtual Status set(std::string_view module, std::string_view tensor, const llmc_dl_tensor& value) = 0;
  /// Computes and records `module`'s weight quantization parameters (observer "" = the scheme's).
  virtual Status quant_weight(std::string_view module, std::string_view observer) = 0;
  /// Fake-quantizes `values` (columns `columns` of `module`'s weight, or 0..n-1 when null) with the recorded
  /// parameters into `out`.
  virtual Status fake_quantize(std::string_view module, const llmc_dl_tensor& values, const llmc_dl_tensor* columns,
                               const llmc_dl_tensor& out) = 0;
  /// Fake-quantizes `module`'s current weight with fresh memoryless min-max parameters into `out`.
  virtual Status fake_quantize_weight(std::string_view module, const llmc_dl_tensor& out) = 0;
  /// Runs `module` on its cached input of calibration batch `batch`; the caller owns the result.
  virtual Expected<llmc_dl_managed_tensor*> module_forward(std::string_view module, int64_t batch) {
    return Error{fmt::format("module_forward {} (batch {}): this layer has no calibration data", module, batch)};
  }
  /// The smoothing mappings of this layer for `algorithm`, among the current callback's modules; valid
  /// until the callback returns.
  virtual Expected<llmc_mapping_list> mappings(std::string_view algorithm) {
    return Error{fmt::format("layer_mappings '{}': {} is not a calibrated decoder layer", algorithm, name())};
  }
};

/// Hands `tensor` to a plugin as an owned DLPack tensor (its deleter frees it).
llmc_dl_managed_tensor* manage(Tensor tensor);

/// Makes a status for a plugin-facing function; the receiver owns it.
llmc_status* make_status(int32_t code, std::string message);
/// Frees a status (accepts NULL and the static out-of-memory status).
void release_status(llmc_status* status);
/// Takes ownership of `status` (non-null) and returns its message with the code's name.
Error take_status(llmc_status* status, std::string_view context);
/// "numerical error" etc.
std::string_view status_code_name(int32_t code);

}  // namespace llmc::plugin

struct llmc_status {
  int32_t code;
  std::string message;
  bool is_static = false;  // the preallocated out-of-memory status, never freed
};

/// Per-instance host state: what the host functions that take a ctx need.
struct llmc_host_ctx {
  std::string label;                 // "modifier 2 (gptq)", to tag logs and errors
  llmc::recipe::OptionValues options;
  llmc::MemoryBudget* budget = nullptr;
  /// scheme_set_weight_arg: (group index, key, JSON value); unset outside initialize.
  std::function<llmc::Status(int32_t, std::string_view, std::string_view)> set_weight_arg;
};

struct llmc_layer {
  llmc::plugin::LayerAccess* access;
};
