// A small fake llmc host for the SDK tests: a host function table over in-test state (options from a
// map, tensors in byte buffers, float32 <-> bfloat16 copies), with counters that catch leaked statuses
// and tensors. It implements the opaque llmc_status, llmc_host_ctx and llmc_layer types.
#pragma once

#include <llmc/plugin.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace fake {

// Statuses made and not yet released.
inline int live_statuses = 0;

using OptionValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>, std::vector<double>>;

struct Tensor {
  llmc_dl_dtype dtype{LLMC_DL_FLOAT, 32, 1};
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;
};

inline std::uint16_t to_bf16_bits(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);  // nearest even
}
inline float from_bf16_bits(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }

inline Tensor f32_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  Tensor t{{LLMC_DL_FLOAT, 32, 1}, std::move(shape), std::vector<unsigned char>(values.size() * 4)};
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

inline Tensor bf16_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  Tensor t{{LLMC_DL_BFLOAT, 16, 1}, std::move(shape), std::vector<unsigned char>(values.size() * 2)};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint16_t bits = to_bf16_bits(values[i]);
    std::memcpy(t.bytes.data() + 2 * i, &bits, 2);
  }
  return t;
}

// The elements of a float32 or bfloat16 tensor, as floats.
inline std::vector<float> values(const Tensor& t) {
  std::vector<float> out;
  if (t.dtype.code == LLMC_DL_BFLOAT) {
    for (std::size_t i = 0; i < t.bytes.size(); i += 2) {
      std::uint16_t bits;
      std::memcpy(&bits, t.bytes.data() + i, 2);
      out.push_back(from_bf16_bits(bits));
    }
  } else {
    out.resize(t.bytes.size() / 4);
    std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
  }
  return out;
}

}  // namespace fake

struct llmc_status {
  std::int32_t code;
  std::string message;
};

struct llmc_host_ctx {
  std::map<std::string, fake::OptionValue> options;
  std::vector<std::pair<std::int32_t, std::string>> logs;
  int live_tensors = 0;              // allocated and not yet deleted
  std::size_t budget_bytes = 1 << 20;  // tensor_alloc fails past it
  std::vector<std::tuple<std::int32_t, std::string, std::string>> weight_args;  // scheme_set_weight_arg calls
};

struct llmc_layer {
  std::int32_t index = 0;
  std::string name = "model.layers.0";
  std::map<std::string, fake::Tensor> tensors;  // by "module.tensor"
};

namespace fake {

inline llmc_status* status(std::int32_t code, const std::string& message) {
  ++live_statuses;
  return new llmc_status{code, message};
}

inline std::size_t element_bytes(llmc_dl_dtype dtype) { return dtype.bits / 8u; }

inline std::int64_t numel(const llmc_dl_tensor& t) {
  std::int64_t n = 1;
  for (std::int32_t d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

inline bool is_f32(llmc_dl_dtype d) { return d.code == LLMC_DL_FLOAT && d.bits == 32; }
inline bool is_bf16(llmc_dl_dtype d) { return d.code == LLMC_DL_BFLOAT && d.bits == 16; }

template <class T>
llmc_status* option(llmc_host_ctx* ctx, const char* key, T* out) {
  const auto it = ctx->options.find(key);
  if (it == ctx->options.end()) return status(LLMC_ERROR_NOT_FOUND, std::string("no option ") + key);
  if (const T* value = std::get_if<T>(&it->second)) {
    *out = *value;
    return nullptr;
  }
  return status(LLMC_ERROR_INVALID_ARGUMENT, std::string("option ") + key + " has another type");
}

template <class List>
const List* list_option(llmc_host_ctx* ctx, const char* key, llmc_status** error) {
  const auto it = ctx->options.find(key);
  if (it == ctx->options.end()) {
    *error = status(LLMC_ERROR_NOT_FOUND, std::string("no option ") + key);
    return nullptr;
  }
  const List* list = std::get_if<List>(&it->second);
  if (list == nullptr) *error = status(LLMC_ERROR_INVALID_ARGUMENT, std::string("option ") + key + " has another type");
  return list;
}

// An owned tensor from tensor_alloc: DLManagedTensorVersioned plus its storage.
struct Owned {
  llmc_dl_managed_tensor managed{};
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;
  llmc_host_ctx* ctx;
};

inline llmc_host_api make_api() {
  llmc_host_api api{};
  api.struct_size = sizeof(llmc_host_api);
  api.abi_major = LLMC_ABI_MAJOR;
  api.abi_minor = LLMC_ABI_MINOR;
  api.host_version = "0.0.0-fake";
  api.status_create = [](std::int32_t code, const char* message) { return status(code, message); };
  api.status_code = [](const llmc_status* s) { return s == nullptr ? std::int32_t{LLMC_OK} : s->code; };
  api.status_message = [](const llmc_status* s) { return s == nullptr ? "" : s->message.c_str(); };
  api.status_release = [](llmc_status* s) {
    if (s != nullptr) --live_statuses;
    delete s;
  };
  api.log = [](llmc_host_ctx* ctx, std::int32_t level, const char* message) { ctx->logs.emplace_back(level, message); };
  api.option_get_bool = [](llmc_host_ctx* ctx, const char* key, std::int32_t* out) {
    bool value = false;
    llmc_status* error = option(ctx, key, &value);
    if (error == nullptr) *out = value ? 1 : 0;
    return error;
  };
  api.option_get_int = [](llmc_host_ctx* ctx, const char* key, std::int64_t* out) { return option(ctx, key, out); };
  api.option_get_float = [](llmc_host_ctx* ctx, const char* key, double* out) { return option(ctx, key, out); };
  api.option_get_string = [](llmc_host_ctx* ctx, const char* key, const char** out) {
    const auto it = ctx->options.find(key);
    if (it == ctx->options.end()) return status(LLMC_ERROR_NOT_FOUND, std::string("no option ") + key);
    const std::string* value = std::get_if<std::string>(&it->second);
    if (value == nullptr) return status(LLMC_ERROR_INVALID_ARGUMENT, std::string("option ") + key + " has another type");
    *out = value->c_str();
    return static_cast<llmc_status*>(nullptr);
  };
  api.option_get_list_size = [](llmc_host_ctx* ctx, const char* key, std::size_t* out) {
    const auto it = ctx->options.find(key);
    if (it == ctx->options.end()) return status(LLMC_ERROR_NOT_FOUND, std::string("no option ") + key);
    if (const auto* strings = std::get_if<std::vector<std::string>>(&it->second)) {
      *out = strings->size();
    } else if (const auto* floats = std::get_if<std::vector<double>>(&it->second)) {
      *out = floats->size();
    } else {
      return status(LLMC_ERROR_INVALID_ARGUMENT, std::string("option ") + key + " is not a list");
    }
    return static_cast<llmc_status*>(nullptr);
  };
  api.option_get_list_string = [](llmc_host_ctx* ctx, const char* key, std::size_t index, const char** out) {
    llmc_status* error = nullptr;
    const auto* list = list_option<std::vector<std::string>>(ctx, key, &error);
    if (list != nullptr) *out = list->at(index).c_str();
    return error;
  };
  api.option_get_list_float = [](llmc_host_ctx* ctx, const char* key, std::size_t index, double* out) {
    llmc_status* error = nullptr;
    const auto* list = list_option<std::vector<double>>(ctx, key, &error);
    if (list != nullptr) *out = list->at(index);
    return error;
  };
  api.scheme_set_weight_arg = [](llmc_host_ctx* ctx, std::int32_t group, const char* key, const char* value) {
    ctx->weight_args.emplace_back(group, key, value);
    return static_cast<llmc_status*>(nullptr);
  };
  api.option_error = [](llmc_host_ctx*, const char* key, const char* message) {
    return status(LLMC_ERROR_INVALID_ARGUMENT, std::string("recipe.toml:3:1: ") + key + ": " + message);
  };
  api.tensor_alloc = [](llmc_host_ctx* ctx, llmc_dl_dtype dtype, std::int32_t ndim, const std::int64_t* shape,
                        llmc_dl_device device, llmc_dl_managed_tensor** out) {
    if (device.device_type != LLMC_DL_CPU) return status(LLMC_ERROR_UNSUPPORTED, "fake host: CPU only");
    auto* owned = new Owned{};
    owned->shape.assign(shape, shape + ndim);
    std::size_t bytes = element_bytes(dtype);
    for (std::int64_t size : owned->shape) bytes *= static_cast<std::size_t>(size);
    if (bytes > ctx->budget_bytes) {
      delete owned;
      return status(LLMC_ERROR_OUT_OF_MEMORY, "fake host: over the memory budget");
    }
    owned->bytes.assign(bytes, 0);
    owned->ctx = ctx;
    owned->managed.version = {1, 1};
    owned->managed.manager_ctx = owned;
    owned->managed.deleter = [](llmc_dl_managed_tensor* self) {
      auto* o = static_cast<Owned*>(self->manager_ctx);
      --o->ctx->live_tensors;
      delete o;
    };
    owned->managed.dl_tensor = {owned->bytes.data(), device, ndim, dtype, owned->shape.data(), nullptr, 0};
    ++ctx->live_tensors;
    *out = &owned->managed;
    return static_cast<llmc_status*>(nullptr);
  };
  api.tensor_copy = [](llmc_host_ctx*, const llmc_dl_tensor* src, llmc_dl_tensor* dst) {
    const bool supported = (is_f32(src->dtype) || is_bf16(src->dtype)) && (is_f32(dst->dtype) || is_bf16(dst->dtype));
    if (!supported || src->strides != nullptr || dst->strides != nullptr) {
      return status(LLMC_ERROR_UNSUPPORTED, "fake host: copies compact float32/bfloat16 only");
    }
    if (src->ndim != dst->ndim || !std::equal(src->shape, src->shape + src->ndim, dst->shape)) {
      return status(LLMC_ERROR_INVALID_ARGUMENT, "fake host: shapes differ");
    }
    const auto* in = static_cast<const unsigned char*>(src->data) + src->byte_offset;
    auto* out = static_cast<unsigned char*>(dst->data) + dst->byte_offset;
    for (std::int64_t i = 0; i < numel(*src); ++i) {
      float value;
      if (is_f32(src->dtype)) {
        std::memcpy(&value, in + 4 * i, 4);
      } else {
        std::uint16_t bits;
        std::memcpy(&bits, in + 2 * i, 2);
        value = from_bf16_bits(bits);
      }
      if (is_f32(dst->dtype)) {
        std::memcpy(out + 4 * i, &value, 4);
      } else {
        const std::uint16_t bits = to_bf16_bits(value);
        std::memcpy(out + 2 * i, &bits, 2);
      }
    }
    return static_cast<llmc_status*>(nullptr);
  };
  api.tensor_get = [](llmc_layer* layer, const char* module, const char* tensor, std::int32_t, llmc_dl_tensor* out) {
    const auto it = layer->tensors.find(std::string(module) + "." + tensor);
    if (it == layer->tensors.end()) {
      return status(LLMC_ERROR_NOT_FOUND, std::string("no tensor ") + module + "." + tensor);
    }
    Tensor& t = it->second;
    *out = {t.bytes.data(), {LLMC_DL_CPU, 0}, static_cast<std::int32_t>(t.shape.size()), t.dtype, t.shape.data(),
            nullptr, 0};
    return static_cast<llmc_status*>(nullptr);
  };
  api.tensor_set = [](llmc_layer* layer, const char* module, const char* tensor, const llmc_dl_tensor* value) {
    Tensor t{value->dtype, std::vector<std::int64_t>(value->shape, value->shape + value->ndim), {}};
    const auto* data = static_cast<const unsigned char*>(value->data) + value->byte_offset;
    t.bytes.assign(data, data + static_cast<std::size_t>(numel(*value)) * element_bytes(value->dtype));
    layer->tensors[std::string(module) + "." + tensor] = std::move(t);
    return static_cast<llmc_status*>(nullptr);
  };
  api.layer_index = [](const llmc_layer* layer) { return layer->index; };
  api.layer_name = [](const llmc_layer* layer) { return layer->name.c_str(); };
  return api;
}

// A module list over owned names, for the callbacks that take one.
struct Modules {
  explicit Modules(std::vector<std::pair<std::string, llmc_module_kind>> modules, std::int32_t layer_index = 0) {
    names.reserve(modules.size());
    for (auto& [name, kind] : modules) {
      names.push_back(std::move(name));
      items.push_back({sizeof(llmc_module_info), nullptr, kind, layer_index, -1, 0, nullptr});
    }
    for (std::size_t i = 0; i < items.size(); ++i) items[i].name = names[i].c_str();
    list = {sizeof(llmc_module_list), items.size(), items.data()};
  }
  Modules(const Modules&) = delete;

  std::vector<std::string> names;
  std::vector<llmc_module_info> items;
  llmc_module_list list{};
};

// Takes a status returned by a callback: its code and message, then releases it.
inline std::pair<std::int32_t, std::string> take(const llmc_host_api& api, llmc_status* status) {
  std::pair<std::int32_t, std::string> result{api.status_code(status), api.status_message(status)};
  api.status_release(status);
  return result;
}

}  // namespace fake
