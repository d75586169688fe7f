// core/plugin/host_api.cpp - the function table. Every function here is noexcept in effect: it catches
// everything and answers with a status, because nothing may unwind into plugin code.
#include "plugin/host_api.h"

#include <fmt/format.h>

#include <new>
#include <variant>

#include "tensor/convert.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"
#include "util/log.h"

#ifndef LLMC_VERSION
#define LLMC_VERSION "0.0.0"
#endif
#ifndef LLMC_TORCH_VERSION
#define LLMC_TORCH_VERSION ""
#endif

namespace llmc::plugin {
namespace {

template <class Fn>
llmc_status* guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return make_status(LLMC_ERROR_OUT_OF_MEMORY, "out of memory in an llmc host function");
  } catch (const std::exception& e) {
    return make_status(LLMC_ERROR_INTERNAL, fmt::format("llmc host function failed: {}", e.what()));
  }
}

llmc_status* invalid(std::string message) { return make_status(LLMC_ERROR_INVALID_ARGUMENT, std::move(message)); }

// `code`, unless a memory budget refused an allocation on the way
llmc_status* failed(int32_t code, const Error& error) {
  return make_status(error.out_of_memory ? LLMC_ERROR_OUT_OF_MEMORY : code, error.message);
}

// --- status -------------------------------------------------------------------------------------

llmc_status* status_create(int32_t code, const char* message) {
  // Returned when even an error cannot be allocated; status_release must never free it.
  static llmc_status out_of_memory{LLMC_ERROR_OUT_OF_MEMORY, "out of memory (while reporting an error)", true};
  try {
    return make_status(code, message ? message : "");
  } catch (...) {
    return &out_of_memory;
  }
}
int32_t status_code(const llmc_status* status) { return status ? status->code : LLMC_OK; }
const char* status_message(const llmc_status* status) { return status ? status->message.c_str() : ""; }
void status_release(llmc_status* status) { release_status(status); }

// --- logging ------------------------------------------------------------------------------------

void host_log(llmc_host_ctx* ctx, int32_t level, const char* message) {
  try {
    const auto lvl = static_cast<log::Level>(std::clamp(level, int32_t{LLMC_LOG_DEBUG}, int32_t{LLMC_LOG_ERROR}));
    log::write(lvl, fmt::format("{}: {}", ctx ? ctx->label : "plugin", message ? message : ""));
  } catch (...) {
  }
}

// --- options ------------------------------------------------------------------------------------

template <class T>
llmc_status* option_lookup(llmc_host_ctx* ctx, const char* key, const T** out, const char* type_name) {
  if (!ctx || !key || !out) return invalid("option lookup: null argument");
  auto it = ctx->options.find(std::string_view(key));
  if (it == ctx->options.end())
    return make_status(LLMC_ERROR_NOT_FOUND,
                       fmt::format("{}: the plugin asked for option '{}', which it does not declare", ctx->label, key));
  const T* value = std::get_if<T>(&it->second.value);
  if (!value)
    return invalid(fmt::format("{}: option '{}' is not {} (as the plugin declared it)", ctx->label, key, type_name));
  *out = value;
  return nullptr;
}

llmc_status* option_get_bool(llmc_host_ctx* ctx, const char* key, int32_t* out) {
  return guarded([&]() -> llmc_status* {
    const bool* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "a bool")) return st;
    *out = *v ? 1 : 0;
    return nullptr;
  });
}
llmc_status* option_get_int(llmc_host_ctx* ctx, const char* key, int64_t* out) {
  return guarded([&]() -> llmc_status* {
    const int64_t* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "an integer")) return st;
    *out = *v;
    return nullptr;
  });
}
llmc_status* option_get_float(llmc_host_ctx* ctx, const char* key, double* out) {
  return guarded([&]() -> llmc_status* {
    const double* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "a float")) return st;
    *out = *v;
    return nullptr;
  });
}
llmc_status* option_get_string(llmc_host_ctx* ctx, const char* key, const char** out) {
  return guarded([&]() -> llmc_status* {
    const std::string* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "a string")) return st;
    *out = v->c_str();
    return nullptr;
  });
}
llmc_status* option_get_list_size(llmc_host_ctx* ctx, const char* key, size_t* out) {
  return guarded([&]() -> llmc_status* {
    if (!ctx || !key || !out) return invalid("option lookup: null argument");
    auto it = ctx->options.find(std::string_view(key));
    if (it != ctx->options.end()) {
      if (auto* strings = std::get_if<std::vector<std::string>>(&it->second.value)) {
        *out = strings->size();
        return nullptr;
      }
      if (auto* floats = std::get_if<std::vector<double>>(&it->second.value)) {
        *out = floats->size();
        return nullptr;
      }
    }
    const std::vector<std::string>* unused = nullptr;
    return option_lookup(ctx, key, &unused, "a list");
  });
}
llmc_status* option_get_list_string(llmc_host_ctx* ctx, const char* key, size_t index, const char** out) {
  return guarded([&]() -> llmc_status* {
    const std::vector<std::string>* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "a list of strings")) return st;
    if (index >= v->size())
      return invalid(fmt::format("{}: option '{}' has {} entries, index {} asked", ctx->label, key, v->size(), index));
    *out = (*v)[index].c_str();
    return nullptr;
  });
}
llmc_status* option_get_list_float(llmc_host_ctx* ctx, const char* key, size_t index, double* out) {
  return guarded([&]() -> llmc_status* {
    const std::vector<double>* v = nullptr;
    if (auto* st = option_lookup(ctx, key, &v, "a list of numbers")) return st;
    if (index >= v->size())
      return invalid(fmt::format("{}: option '{}' has {} entries, index {} asked", ctx->label, key, v->size(), index));
    *out = (*v)[index];
    return nullptr;
  });
}
llmc_status* option_error(llmc_host_ctx* ctx, const char* key, const char* message) {
  return guarded([&]() -> llmc_status* {
    if (!ctx || !key) return invalid("option_error: null argument");
    auto it = ctx->options.find(std::string_view(key));
    const std::string where = it != ctx->options.end() ? it->second.location.str() + ": " : "";
    return invalid(fmt::format("{}{}: key '{}': {}", where, ctx->label, key, message ? message : "invalid value"));
  });
}

// --- tensors ------------------------------------------------------------------------------------

void delete_managed_tensor(llmc_dl_managed_tensor* self) {
  if (!self) return;
  delete static_cast<Tensor*>(self->manager_ctx);
  delete self;
}

llmc_status* tensor_alloc(llmc_host_ctx* ctx, llmc_dl_dtype dtype, int32_t ndim, const int64_t* shape,
                          llmc_dl_device device, llmc_dl_managed_tensor** out) {
  return guarded([&]() -> llmc_status* {
    if (!out || ndim < 0 || (ndim > 0 && !shape)) return invalid("tensor_alloc: bad arguments");
    auto type = dtype_from_dl(dtype);
    if (!type)
      return make_status(LLMC_ERROR_UNSUPPORTED, fmt::format("tensor_alloc: unsupported DLPack dtype (code {}, {} bits, "
                                                             "{} lanes)", dtype.code, dtype.bits, dtype.lanes));
    auto tensor = Tensor::allocate(*type, std::vector<int64_t>(shape, shape + ndim), device, ctx ? ctx->budget : nullptr);
    if (!tensor) return make_status(LLMC_ERROR_OUT_OF_MEMORY, tensor.error().message);
    *out = manage(std::move(*tensor));
    return nullptr;
  });
}

llmc_status* tensor_copy(llmc_host_ctx*, const llmc_dl_tensor* src, llmc_dl_tensor* dst) {
  return guarded([&]() -> llmc_status* {
    if (!src || !dst) return invalid("tensor_copy: null tensor");
    if (auto status = copy_convert(*src, *dst); !status) return failed(LLMC_ERROR_INVALID_ARGUMENT, status.error());
    return nullptr;
  });
}

llmc_status* tensor_get(llmc_layer* layer, const char* module, const char* tensor, int32_t access,
                        llmc_dl_tensor* out) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module || !tensor || !out) return invalid("tensor_get: null argument");
    if (access != LLMC_ACCESS_READ && access != LLMC_ACCESS_WRITE)
      return invalid(fmt::format("tensor_get: access must be LLMC_ACCESS_READ or LLMC_ACCESS_WRITE, got {}", access));
    auto view = layer->access->get(module, tensor, access == LLMC_ACCESS_WRITE);
    if (!view) return failed(LLMC_ERROR_NOT_FOUND, view.error());
    *out = *view;
    return nullptr;
  });
}

llmc_status* tensor_set(llmc_layer* layer, const char* module, const char* tensor, const llmc_dl_tensor* value) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module || !tensor || !value) return invalid("tensor_set: null argument");
    if (auto status = layer->access->set(module, tensor, *value); !status) return failed(LLMC_ERROR_INVALID_ARGUMENT, status.error());
    return nullptr;
  });
}

llmc_status* quant_weight(llmc_layer* layer, const char* module, const char* observer) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module) return invalid("quant_weight: null argument");
    if (auto status = layer->access->quant_weight(module, observer ? observer : ""); !status)
      return failed(LLMC_ERROR_UNSUPPORTED, status.error());
    return nullptr;
  });
}

llmc_status* quant_weight_ordered(llmc_layer*, const char*, const char*, const llmc_dl_tensor*) {
  return make_status(LLMC_ERROR_UNSUPPORTED,
                     "quant_weight_ordered is withdrawn: it wrote weight_g_idx (actorder \"group\"), which "
                     "compressed-tensors 0.19 no longer loads; use quant_weight");
}

llmc_status* quant_fake_quantize(llmc_layer* layer, const char* module, const llmc_dl_tensor* values,
                                 const llmc_dl_tensor* columns, llmc_dl_tensor* out) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module || !values || !out) return invalid("quant_fake_quantize: null argument");
    if (auto status = layer->access->fake_quantize(module, *values, columns, *out); !status)
      return failed(LLMC_ERROR_INVALID_ARGUMENT, status.error());
    return nullptr;
  });
}

llmc_status* quant_fake_quantize_weight(llmc_layer* layer, const char* module, llmc_dl_tensor* out) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module || !out) return invalid("quant_fake_quantize_weight: null argument");
    if (auto status = layer->access->fake_quantize_weight(module, *out); !status) return failed(LLMC_ERROR_INVALID_ARGUMENT, status.error());
    return nullptr;
  });
}

llmc_status* module_forward(llmc_layer* layer, const char* module, int64_t batch_index, llmc_dl_managed_tensor** out) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !module || !out) return invalid("module_forward: null argument");
    auto result = layer->access->module_forward(module, batch_index);
    if (!result) return failed(LLMC_ERROR_INVALID_ARGUMENT, result.error());
    *out = *result;
    return nullptr;
  });
}

llmc_status* layer_mappings(llmc_layer* layer, const char* algorithm, llmc_mapping_list* out) {
  return guarded([&]() -> llmc_status* {
    if (!layer || !algorithm || !out) return invalid("layer_mappings: null argument");
    auto result = layer->access->mappings(algorithm);
    if (!result) return failed(LLMC_ERROR_INVALID_ARGUMENT, result.error());
    *out = *result;
    return nullptr;
  });
}

llmc_status* scheme_set_weight_arg(llmc_host_ctx* ctx, int32_t group_index, const char* key, const char* value_json) {
  return guarded([&]() -> llmc_status* {
    if (!ctx || !key || !value_json) return invalid("scheme_set_weight_arg: null argument");
    if (!ctx->set_weight_arg) return invalid(fmt::format("{}: scheme_set_weight_arg is only available in initialize", ctx->label));
    if (auto status = ctx->set_weight_arg(group_index, key, value_json); !status)
      return invalid(fmt::format("{}: {}", ctx->label, status.error().message));
    return nullptr;
  });
}

int32_t layer_index(const llmc_layer* layer) { return layer ? layer->access->index() : -1; }
const char* layer_name(const llmc_layer* layer) { return layer ? layer->access->name().c_str() : ""; }

}  // namespace

llmc_dl_managed_tensor* manage(Tensor tensor) {
  auto owned = std::make_unique<Tensor>(std::move(tensor));
  auto* managed = new llmc_dl_managed_tensor{};
  managed->version = {1, 1};
  managed->dl_tensor = owned->dl_view();
  managed->manager_ctx = owned.release();
  managed->deleter = delete_managed_tensor;
  return managed;
}

llmc_status* make_status(int32_t code, std::string message) { return new llmc_status{code, std::move(message)}; }

void release_status(llmc_status* status) {
  if (status && !status->is_static) delete status;
}

Error take_status(llmc_status* status, std::string_view context) {
  Error error{fmt::format("{}: {} ({})", context, status->message, status_code_name(status->code))};
  release_status(status);
  return error;
}

std::string_view status_code_name(int32_t code) {
  switch (code) {
    case LLMC_OK: return "ok";
    case LLMC_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case LLMC_ERROR_NOT_FOUND: return "not found";
    case LLMC_ERROR_OUT_OF_MEMORY: return "out of memory";
    case LLMC_ERROR_UNSUPPORTED: return "unsupported";
    case LLMC_ERROR_NUMERICAL: return "numerical error";
    case LLMC_ERROR_ABI_MISMATCH: return "ABI mismatch";
    case LLMC_ERROR_INTERNAL: return "internal error";
  }
  return "unknown status code";
}

std::string_view host_torch_version() { return LLMC_TORCH_VERSION; }

const llmc_host_api& host_api() {
  static const llmc_host_api api = {
      .struct_size = sizeof(llmc_host_api),
      .abi_major = LLMC_ABI_MAJOR,
      .abi_minor = LLMC_ABI_MINOR,
      .host_version = LLMC_VERSION,
      .status_create = status_create,
      .status_code = status_code,
      .status_message = status_message,
      .status_release = status_release,
      .log = host_log,
      .option_get_bool = option_get_bool,
      .option_get_int = option_get_int,
      .option_get_float = option_get_float,
      .option_get_string = option_get_string,
      .option_get_list_size = option_get_list_size,
      .option_get_list_string = option_get_list_string,
      .option_get_list_float = option_get_list_float,
      .option_error = option_error,
      .tensor_alloc = tensor_alloc,
      .tensor_copy = tensor_copy,
      .tensor_get = tensor_get,
      .tensor_set = tensor_set,
      .layer_index = layer_index,
      .layer_name = layer_name,
      .quant_weight = quant_weight,
      .quant_weight_ordered = quant_weight_ordered,
      .quant_fake_quantize = quant_fake_quantize,
      .quant_fake_quantize_weight = quant_fake_quantize_weight,
      .module_forward = module_forward,
      .layer_mappings = layer_mappings,
      .scheme_set_weight_arg = scheme_set_weight_arg,
  };
  return api;
}

}  // namespace llmc::plugin
