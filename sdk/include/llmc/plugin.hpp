// llmc/plugin.hpp - a header-only C++20 wrapper over the llmc plugin C ABI (llmc/plugin.h).
//
// An algorithm is a class constructed from a Context, with any of four optional member functions:
//
//     class MyAlgo {
//      public:
//       explicit MyAlgo(llmc::sdk::Context& ctx) : ctx_(ctx), alpha_(ctx.option<double>("alpha")) {}
//       void initialize(const llmc::sdk::ModuleList& modules);                           // optional
//       void calibrate(llmc::sdk::Layer& layer, const llmc::sdk::CalibrationBatch& batch); // optional
//       void compress(llmc::sdk::Layer& layer, const llmc::sdk::ModuleList& modules);     // optional
//       void finalize();                                                                  // optional
//      private:
//       llmc::sdk::Context& ctx_;
//       double alpha_;
//     };
//     constexpr llmc_option_spec my_options[] = {
//         llmc::sdk::float_option("alpha", "0.5", "how much to smooth, in [0, 1]")};
//     LLMC_CPP_PLUGIN(MyAlgo, my_algo, "1.0.0", "one line", LLMC_CAP_EDITS_WEIGHTS, my_options)
//
// The descriptor's callback is set only for the member functions that exist (a plugin without
// `calibrate` costs the host no forward pass); the constructor is `create` and the destructor
// `destroy`. Exceptions never cross the ABI: each callback catches them and returns a status
// (llmc::sdk::Error keeps its code, std::bad_alloc is LLMC_ERROR_OUT_OF_MEMORY, any other exception
// LLMC_ERROR_INTERNAL with its what()). Host functions that fail throw llmc::sdk::Error.
// Threading follows plugin.h: the host serializes the calls on one instance, except compress on
// different layers when the plugin declares LLMC_CAP_CONCURRENT_COMPRESS.
#ifndef LLMC_PLUGIN_HPP
#define LLMC_PLUGIN_HPP

#include <llmc/plugin.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc::sdk {

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

// The exception a plugin throws to fail a callback with a specific status code; the wrapper turns it
// into the llmc_status the host receives. Host functions that fail throw it with the host's code.
class Error : public std::runtime_error {
 public:
  Error(llmc_status_code code, const std::string& message) : std::runtime_error(message), code_(code) {}

  // The status code the host will see (LLMC_ERROR_*).
  llmc_status_code code() const noexcept { return code_; }

 private:
  llmc_status_code code_;
};

namespace detail {

// Throws `status` (a host-made error) as an Error, releasing it; does nothing for NULL (success).
inline void check(const llmc_host_api& host, llmc_status* status) {
  if (status == nullptr) return;
  struct Release {
    const llmc_host_api& host;
    llmc_status* status;
    ~Release() { host.status_release(status); }
  } release{host, status};
  const auto code = static_cast<llmc_status_code>(host.status_code(status));
  throw Error(code == LLMC_OK ? LLMC_ERROR_INTERNAL : code, host.status_message(status));
}

// Items of a host array of append-only structs (llmc_module_info, llmc_module_activation): a newer
// host's items may be larger than this header's struct, so the array is walked by `struct_size`.
template <class Item>
const Item& item_at(const Item* items, std::size_t index) noexcept {
  const std::size_t stride = items[0].struct_size < sizeof(Item) ? sizeof(Item) : items[0].struct_size;
  return *reinterpret_cast<const Item*>(reinterpret_cast<const char*>(items) + index * stride);
}

// A forward iterator over a wrapper list whose `operator[]` gives the values.
template <class List, class Value>
class IndexIterator {
 public:
  using iterator_concept = std::forward_iterator_tag;
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  IndexIterator() = default;
  IndexIterator(const List* list, std::size_t index) noexcept : list_(list), index_(index) {}
  Value operator*() const noexcept { return (*list_)[index_]; }
  IndexIterator& operator++() noexcept { ++index_; return *this; }
  IndexIterator operator++(int) noexcept { IndexIterator old = *this; ++index_; return old; }
  friend bool operator==(const IndexIterator& a, const IndexIterator& b) noexcept {
    return a.index_ == b.index_;
  }

 private:
  const List* list_ = nullptr;
  std::size_t index_ = 0;
};

}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Element types and tensors
// ------------------------------------------------------------------------------------------------

// A DLPack element type (lanes are always 1 in llmc).
struct DType {
  std::uint8_t code = LLMC_DL_FLOAT;  // an llmc_dl_dtype_code
  std::uint8_t bits = 32;

  constexpr DType() = default;
  constexpr DType(llmc_dl_dtype_code code_, std::uint8_t bits_) noexcept
      : code(static_cast<std::uint8_t>(code_)), bits(bits_) {}
  constexpr explicit DType(llmc_dl_dtype raw) noexcept : code(raw.code), bits(raw.bits) {}

  // The C struct, for host functions.
  constexpr llmc_dl_dtype raw() const noexcept { return {code, bits, 1}; }
  friend constexpr bool operator==(DType, DType) = default;

  // A readable name ("bfloat16", "int8", ...), for messages.
  std::string name() const {
    switch (code) {
      case LLMC_DL_FLOAT: return bits == 16 ? "float16" : "float" + std::to_string(bits);
      case LLMC_DL_BFLOAT: return "bfloat" + std::to_string(bits);
      case LLMC_DL_INT: return "int" + std::to_string(bits);
      case LLMC_DL_UINT: return "uint" + std::to_string(bits);
      case LLMC_DL_BOOL: return "bool";
      case LLMC_DL_FLOAT8_E4M3FN: return "float8_e4m3fn";
      case LLMC_DL_FLOAT8_E5M2: return "float8_e5m2";
      case LLMC_DL_FLOAT8_E8M0FNU: return "float8_e8m0fnu";
      case LLMC_DL_FLOAT4_E2M1FN: return "float4_e2m1fn";
      default: return "dtype(code=" + std::to_string(code) + ", bits=" + std::to_string(bits) + ")";
    }
  }
};

inline constexpr DType float16{LLMC_DL_FLOAT, 16};
inline constexpr DType bfloat16{LLMC_DL_BFLOAT, 16};
inline constexpr DType float32{LLMC_DL_FLOAT, 32};
inline constexpr DType float64{LLMC_DL_FLOAT, 64};
inline constexpr DType int8{LLMC_DL_INT, 8};
inline constexpr DType int16{LLMC_DL_INT, 16};
inline constexpr DType int32{LLMC_DL_INT, 32};
inline constexpr DType int64{LLMC_DL_INT, 64};
inline constexpr DType uint8{LLMC_DL_UINT, 8};
inline constexpr DType boolean{LLMC_DL_BOOL, 8};
inline constexpr DType float8_e4m3fn{LLMC_DL_FLOAT8_E4M3FN, 8};

// The C++ types whose elements TensorView::data<T>() can hand out.
template <class T>
concept Element = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int8_t> ||
                  std::same_as<T, std::int16_t> || std::same_as<T, std::int32_t> ||
                  std::same_as<T, std::int64_t> || std::same_as<T, std::uint8_t> || std::same_as<T, bool>;

// The DType of element type T, e.g. dtype_of<float> == float32.
template <Element T>
inline constexpr DType dtype_of = std::same_as<T, float>          ? float32
                                  : std::same_as<T, double>       ? float64
                                  : std::same_as<T, std::int8_t>  ? int8
                                  : std::same_as<T, std::int16_t> ? int16
                                  : std::same_as<T, std::int32_t> ? int32
                                  : std::same_as<T, std::int64_t> ? int64
                                  : std::same_as<T, std::uint8_t> ? uint8
                                                                  : boolean;

// Where Context::allocate puts tensors by default.
inline constexpr llmc_dl_device cpu_device{LLMC_DL_CPU, 0};

// Whether a tensor may be written (plugin.h llmc_access).
enum class Access : std::int32_t { read = LLMC_ACCESS_READ, write = LLMC_ACCESS_WRITE };

// A borrowed DLPack view. It owns nothing: valid as long as what it views (the callback that got it
// from Layer::tensor, or the OwnedTensor it came from). Cheap to copy.
class TensorView {
 public:
  TensorView() = default;
  // Wraps `raw`, which keeps pointing at the owner's data, shape and strides.
  explicit TensorView(const llmc_dl_tensor& raw) noexcept : raw_(raw) {}

  DType dtype() const noexcept { return DType(raw_.dtype); }
  // The sizes, outermost first (a Linear weight is [out_features, in_features]).
  std::span<const std::int64_t> shape() const noexcept {
    return {raw_.shape, static_cast<std::size_t>(raw_.ndim)};
  }
  std::int32_t ndim() const noexcept { return raw_.ndim; }
  // The number of elements (1 for a scalar).
  std::int64_t numel() const noexcept {
    std::int64_t n = 1;
    for (std::int64_t size : shape()) n *= size;
    return n;
  }
  llmc_dl_device device() const noexcept { return raw_.device; }
  // True when the host can read the elements directly (CPU or pinned host memory).
  bool is_cpu() const noexcept {
    return raw_.device.device_type == LLMC_DL_CPU || raw_.device.device_type == LLMC_DL_CUDA_HOST;
  }
  // True when the elements are compact row-major (NULL strides, or strides that say so).
  bool is_contiguous() const noexcept {
    if (raw_.strides == nullptr) return true;
    std::int64_t expected = 1;
    for (std::int32_t d = raw_.ndim - 1; d >= 0; --d) {
      if (raw_.shape[d] != 1 && raw_.strides[d] != expected) return false;
      expected *= raw_.shape[d];
    }
    return true;
  }
  // The first element's address (`data` + `byte_offset`), on the tensor's device.
  void* data_ptr() const noexcept { return static_cast<char*>(raw_.data) + raw_.byte_offset; }
  // The first element as a T*, on the tensor's device, laid out as the strides say. Throws
  // Error(LLMC_ERROR_UNSUPPORTED) when the tensor's dtype is not T's.
  template <Element T>
  T* data() const {
    if (dtype() != dtype_of<T>) {
      throw Error(LLMC_ERROR_UNSUPPORTED,
                  "tensor is " + dtype().name() + ", accessed as " + dtype_of<T>.name());
    }
    return static_cast<T*>(data_ptr());
  }
  // All elements, row-major, as a span: for compact CPU tensors (like those from
  // Context::allocate). Throws Error(LLMC_ERROR_UNSUPPORTED) on another dtype, device or layout.
  template <Element T>
  std::span<T> values() const {
    if (!is_cpu() || !is_contiguous()) {
      throw Error(LLMC_ERROR_UNSUPPORTED, "values() needs a compact CPU tensor");
    }
    return {data<T>(), static_cast<std::size_t>(numel())};
  }
  // The C view, for host functions and DLPack consumers.
  const llmc_dl_tensor& raw() const noexcept { return raw_; }

 private:
  llmc_dl_tensor raw_{};
};

// An owned tensor (llmc_dl_managed_tensor): calls its deleter once, when destroyed. Move-only.
class OwnedTensor {
 public:
  OwnedTensor() = default;
  // Takes ownership of `owned` (may be NULL).
  explicit OwnedTensor(llmc_dl_managed_tensor* owned) noexcept : owned_(owned) {}
  OwnedTensor(OwnedTensor&& other) noexcept : owned_(std::exchange(other.owned_, nullptr)) {}
  OwnedTensor& operator=(OwnedTensor&& other) noexcept {
    if (this != &other) {
      reset();
      owned_ = std::exchange(other.owned_, nullptr);
    }
    return *this;
  }
  ~OwnedTensor() { reset(); }

  // False when empty (default-constructed, moved from, released or reset).
  explicit operator bool() const noexcept { return owned_ != nullptr; }
  // A view of the tensor, valid while this object owns it. Precondition: not empty.
  TensorView view() const noexcept { return TensorView(owned_->dl_tensor); }
  // The managed tensor, still owned by this object.
  llmc_dl_managed_tensor* get() const noexcept { return owned_; }
  // Gives up ownership: the caller must call the deleter.
  llmc_dl_managed_tensor* release() noexcept { return std::exchange(owned_, nullptr); }
  // Frees the tensor now (no-op when empty).
  void reset() noexcept {
    if (llmc_dl_managed_tensor* owned = std::exchange(owned_, nullptr)) owned->deleter(owned);
  }

 private:
  llmc_dl_managed_tensor* owned_ = nullptr;
};

// ------------------------------------------------------------------------------------------------
// Modules and calibration data (views of host structs, valid for the callback that received them)
// ------------------------------------------------------------------------------------------------

enum class ModuleKind : std::int32_t {
  other = LLMC_MODULE_OTHER,
  linear = LLMC_MODULE_LINEAR,
  embedding = LLMC_MODULE_EMBEDDING,
  norm = LLMC_MODULE_NORM
};

// One module the modifier resolved to (llmc_module_info).
class Module {
 public:
  explicit Module(const llmc_module_info& info) noexcept : info_(&info) {}

  // The full Hugging Face name, e.g. "model.layers.3.mlp.down_proj" (NUL-terminated).
  std::string_view name() const noexcept { return info_->name; }
  // Linear (`weight` [out, in], optional `bias`), embedding, norm, or other.
  ModuleKind kind() const noexcept { return static_cast<ModuleKind>(info_->kind); }
  // The decoder layer it belongs to, or -1.
  std::int32_t layer_index() const noexcept { return info_->layer_index; }
  // The [[modifier.group]] that matched it (0 without groups), or -1 without quantization.
  std::int32_t group_index() const noexcept { return info_->group_index; }
  // Its resolved QuantizationScheme as JSON, or nullopt when the modifier sets no quantization.
  std::optional<std::string_view> scheme_json() const noexcept {
    if (info_->scheme_json == nullptr) return std::nullopt;
    return std::string_view(info_->scheme_json);
  }
  // The C struct (fields past its struct_size are absent).
  const llmc_module_info& raw() const noexcept { return *info_; }

 private:
  const llmc_module_info* info_;
};

// The modules given to initialize (all of the modifier's) or compress (those of one layer).
class ModuleList {
 public:
  using iterator = detail::IndexIterator<ModuleList, Module>;

  explicit ModuleList(const llmc_module_list& list) noexcept : list_(&list) {}

  // The number of modules (never 0 in compress).
  std::size_t size() const noexcept { return list_->count; }
  bool empty() const noexcept { return list_->count == 0; }
  // The module at `index` < size().
  Module operator[](std::size_t index) const noexcept { return Module(detail::item_at(list_->items, index)); }
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, size()}; }
  // The C struct.
  const llmc_module_list& raw() const noexcept { return *list_; }

 private:
  const llmc_module_list* list_;
};

// One module's activations in a calibration batch (llmc_module_activation).
class Activation {
 public:
  explicit Activation(const llmc_module_activation& raw) noexcept : raw_(&raw) {}

  // The module's name (one of the modifier's modules in this layer).
  std::string_view module() const noexcept { return raw_->module; }
  // The module's input, [tokens, in_features]; read only.
  TensorView input() const noexcept { return TensorView(*raw_->input); }
  // Its output, [tokens, out_features]; nullopt unless the plugin sets LLMC_CAP_NEEDS_OUTPUTS.
  std::optional<TensorView> output() const noexcept {
    if (raw_->output == nullptr) return std::nullopt;
    return TensorView(*raw_->output);
  }
  // The C struct.
  const llmc_module_activation& raw() const noexcept { return *raw_; }

 private:
  const llmc_module_activation* raw_;
};

// One calibration batch for the modules of one layer: an Activation per module.
class CalibrationBatch {
 public:
  using iterator = detail::IndexIterator<CalibrationBatch, Activation>;

  explicit CalibrationBatch(const llmc_calibration_batch& batch) noexcept : batch_(&batch) {}

  // 0-based, in calibration order.
  std::int64_t index() const noexcept { return batch_->batch_index; }
  // The calibration samples (sequences) whose tokens the inputs hold (1 from hosts before ABI 1.2).
  std::int64_t sequences() const noexcept {
    if (batch_->struct_size < offsetof(llmc_calibration_batch, sequences) + sizeof(std::int64_t)) return 1;
    return batch_->sequences;
  }
  // One Activation per module of the modifier in this layer.
  std::size_t size() const noexcept { return batch_->count; }
  Activation operator[](std::size_t index) const noexcept {
    return Activation(detail::item_at(batch_->items, index));
  }
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, size()}; }
  // The C struct.
  const llmc_calibration_batch& raw() const noexcept { return *batch_; }

 private:
  const llmc_calibration_batch* batch_;
};

// ------------------------------------------------------------------------------------------------
// The host: per-instance services (Context) and the current layer (Layer)
// ------------------------------------------------------------------------------------------------

// The host's services for one plugin instance: log, recipe options, tensor memory and conversion.
// Made by the wrapper before the plugin's constructor and valid until after its destructor; the
// plugin keeps a reference. Every member is thread-safe (the host functions are).
class Context {
 public:
  // Wraps what create received; both stay valid until destroy.
  Context(const llmc_host_api* host, llmc_host_ctx* ctx) noexcept : host_(host), ctx_(ctx) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // The host's function table and this instance's handle, for calls the wrapper does not cover.
  const llmc_host_api& host() const noexcept { return *host_; }
  llmc_host_ctx* raw() const noexcept { return ctx_; }

  // Logs `message` (UTF-8), tagged by the host with the modifier.
  void log(llmc_log_level level, const std::string& message) const noexcept {
    host_->log(ctx_, level, message.c_str());
  }
  void log_debug(const std::string& message) const noexcept { log(LLMC_LOG_DEBUG, message); }
  void log_info(const std::string& message) const noexcept { log(LLMC_LOG_INFO, message); }
  void log_warning(const std::string& message) const noexcept { log(LLMC_LOG_WARNING, message); }
  void log_error(const std::string& message) const noexcept { log(LLMC_LOG_ERROR, message); }

  // The value of recipe key `key` (defaults applied by the host), typed as the descriptor declares
  // it: bool (LLMC_OPTION_BOOL), std::int64_t (INT), double (FLOAT), std::string (STRING),
  // std::vector<std::string> (STRING_LIST) or std::vector<double> (FLOAT_LIST). Throws Error
  // (LLMC_ERROR_NOT_FOUND for an undeclared key, LLMC_ERROR_INVALID_ARGUMENT for a wrong type).
  template <class T>
  T option(std::string_view key_view) const {
    const std::string key(key_view);
    if constexpr (std::same_as<T, bool>) {
      std::int32_t value = 0;
      detail::check(*host_, host_->option_get_bool(ctx_, key.c_str(), &value));
      return value != 0;
    } else if constexpr (std::same_as<T, std::int64_t>) {
      std::int64_t value = 0;
      detail::check(*host_, host_->option_get_int(ctx_, key.c_str(), &value));
      return value;
    } else if constexpr (std::same_as<T, double>) {
      double value = 0;
      detail::check(*host_, host_->option_get_float(ctx_, key.c_str(), &value));
      return value;
    } else if constexpr (std::same_as<T, std::string>) {
      const char* value = nullptr;
      detail::check(*host_, host_->option_get_string(ctx_, key.c_str(), &value));
      return std::string(value);
    } else if constexpr (std::same_as<T, std::vector<std::string>> ||
                         std::same_as<T, std::vector<double>>) {
      std::size_t size = 0;
      detail::check(*host_, host_->option_get_list_size(ctx_, key.c_str(), &size));
      T values;
      values.reserve(size);
      for (std::size_t i = 0; i < size; ++i) {
        if constexpr (std::same_as<T, std::vector<double>>) {
          double value = 0;
          detail::check(*host_, host_->option_get_list_float(ctx_, key.c_str(), i, &value));
          values.push_back(value);
        } else {
          const char* value = nullptr;
          detail::check(*host_, host_->option_get_list_string(ctx_, key.c_str(), i, &value));
          values.emplace_back(value);
        }
      }
      return values;
    } else {
      static_assert(sizeof(T) == 0,
                    "option<T>: T is one of bool, std::int64_t, double, std::string, "
                    "std::vector<std::string>, std::vector<double>");
    }
  }

  // Sets weights.`key` to `value_json` in the scheme of the modifier's group `group_index`, as the
  // checkpoint's quantization_config should record it (ABI 1.2; from initialize only).
  void set_weight_arg(std::int32_t group_index, std::string_view key, std::string_view value_json) const {
    const std::string key_z(key), value_z(value_json);
    detail::check(*host_, host_->scheme_set_weight_arg(ctx_, group_index, key_z.c_str(), value_z.c_str()));
  }

  // Rejects the recipe value of `key`: throws an Error whose message the host prefixed with the
  // key's file:line:column (LLMC_ERROR_INVALID_ARGUMENT), so the user sees where to fix it.
  [[noreturn]] void option_error(std::string_view key, const std::string& message) const {
    const std::string key_z(key);
    llmc_status* status = host_->option_error(ctx_, key_z.c_str(), message.c_str());
    detail::check(*host_, status);
    throw Error(LLMC_ERROR_INTERNAL, "option_error: the host returned no status for " + key_z);
  }

  // A new zero-filled, compact row-major tensor, counted against the run's memory budget (throws
  // Error(LLMC_ERROR_OUT_OF_MEMORY) past it). The caller owns it.
  OwnedTensor allocate(DType dtype, std::span<const std::int64_t> shape,
                       llmc_dl_device device = cpu_device) const {
    llmc_dl_managed_tensor* owned = nullptr;
    detail::check(*host_, host_->tensor_alloc(ctx_, dtype.raw(), static_cast<std::int32_t>(shape.size()),
                                              shape.data(), device, &owned));
    return OwnedTensor(owned);
  }
  OwnedTensor allocate(DType dtype, std::initializer_list<std::int64_t> shape,
                       llmc_dl_device device = cpu_device) const {
    return allocate(dtype, std::span<const std::int64_t>(shape.begin(), shape.size()), device);
  }

  // Copies `src` into `dst` (same shape), converting the element type (floats round to nearest
  // even), e.g. bfloat16 -> float32 and back. `dst` must be writable.
  void copy(const TensorView& src, const TensorView& dst) const {
    llmc_dl_tensor out = dst.raw();
    detail::check(*host_, host_->tensor_copy(ctx_, &src.raw(), &out));
  }

  // A new tensor holding `src` converted to `dtype`, on `src`'s device: allocate + copy.
  OwnedTensor convert(const TensorView& src, DType dtype) const {
    OwnedTensor result = allocate(dtype, src.shape(), src.device());
    copy(src, result.view());
    return result;
  }

 private:
  const llmc_host_api* host_;
  llmc_host_ctx* ctx_;
};

// A smoothing mapping of the architecture (llmc_mapping): `smooth`'s output is the input of every
// balance layer; `parent` is the smallest block running them all (what Layer::forward runs).
struct Mapping {
  std::string smooth;
  std::vector<std::string> balance;
  std::string parent;
};

// The unit of work the host holds in memory (a decoder layer, or modules outside the layers). Valid
// only in the callback that received it, like the views it hands out.
class Layer {
 public:
  // Wraps what calibrate or compress received (the wrapper does this for the plugin).
  Layer(const llmc_host_api& host, llmc_layer* raw) noexcept : host_(&host), raw_(raw) {}

  // The decoder layer index, or -1 outside the decoder layers.
  std::int32_t index() const noexcept { return host_->layer_index(raw_); }
  // A display name, e.g. "model.layers.3".
  std::string_view name() const noexcept { return host_->layer_name(raw_); }

  // A view of `module`.`tensor` ("weight", "bias", ...), valid until the callback returns; with
  // Access::write it may be written in place and the host keeps the result. Throws Error
  // (LLMC_ERROR_NOT_FOUND when the module has no such tensor).
  TensorView tensor(std::string_view module, std::string_view tensor, Access access = Access::read) const {
    const std::string module_z(module), tensor_z(tensor);
    llmc_dl_tensor view{};
    detail::check(*host_, host_->tensor_get(raw_, module_z.c_str(), tensor_z.c_str(),
                                            static_cast<std::int32_t>(access), &view));
    return TensorView(view);
  }

  // tensor(), or nothing when `module` has no such tensor (a Linear's "bias", say).
  std::optional<TensorView> tensor_if_present(std::string_view module, std::string_view tensor,
                                              Access access = Access::read) const {
    try {
      return this->tensor(module, tensor, access);
    } catch (const Error& e) {
      if (e.code() == LLMC_ERROR_NOT_FOUND) return std::nullopt;
      throw;
    }
  }

  // Adds or replaces `module`.`tensor` with a copy of `value` (any dtype and shape), e.g. a
  // "weight_scale"; the host writes it to the output checkpoint.
  void set_tensor(std::string_view module, std::string_view tensor, const TensorView& value) const {
    const std::string module_z(module), tensor_z(tensor);
    detail::check(*host_, host_->tensor_set(raw_, module_z.c_str(), tensor_z.c_str(), &value.raw()));
  }

  // Computes and records `module`'s weight quantization parameters with its scheme (ABI 1.1); an
  // empty `observer` keeps the scheme's observer. The host quantizes and packs the weight on write.
  void quant_weight(std::string_view module, std::string_view observer = {}) const {
    const std::string module_z(module), observer_z(observer);
    detail::check(*host_, host_->quant_weight(raw_, module_z.c_str(), observer.empty() ? nullptr : observer_z.c_str()));
  }

  // --- ABI 1.2 ---

  // Fake-quantizes `values` [out_features, n] (weight columns `columns`, int64 [n]; none = 0..n-1) with
  // the parameters recorded for `module` in this callback, into `out` (may be `values`).
  void fake_quantize(std::string_view module, const TensorView& values, const TensorView& out,
                     std::optional<TensorView> columns = std::nullopt) const {
    const std::string module_z(module);
    llmc_dl_tensor out_raw = out.raw();
    detail::check(*host_, host_->quant_fake_quantize(raw_, module_z.c_str(), &values.raw(),
                                                     columns ? &columns->raw() : nullptr, &out_raw));
  }

  // Fake-quantizes `module`'s current weight with fresh memoryless min-max parameters of its scheme,
  // recording nothing, into `out` [out_features, in_features].
  void fake_quantize_weight(std::string_view module, const TensorView& out) const {
    const std::string module_z(module);
    llmc_dl_tensor out_raw = out.raw();
    detail::check(*host_, host_->quant_fake_quantize_weight(raw_, module_z.c_str(), &out_raw));
  }

  // The output of `module` (a Linear of this layer or a mapping's parent block) run with the current
  // weights on its cached input of calibration batch `batch_index`. Needs LLMC_CAP_RUNS_MODULES.
  OwnedTensor forward(std::string_view module, std::int64_t batch_index) const {
    const std::string module_z(module);
    llmc_dl_managed_tensor* owned = nullptr;
    detail::check(*host_, host_->module_forward(raw_, module_z.c_str(), batch_index, &owned));
    return OwnedTensor(owned);
  }

  // The architecture's smoothing mappings in this layer for `algorithm` ("awq" or "smoothquant")
  // whose balance layers are all among the modules of this callback.
  std::vector<Mapping> mappings(std::string_view algorithm) const {
    const std::string algorithm_z(algorithm);
    llmc_mapping_list list{};
    detail::check(*host_, host_->layer_mappings(raw_, algorithm_z.c_str(), &list));
    std::vector<Mapping> result;
    for (std::size_t i = 0; i < list.count; ++i) {
      const llmc_mapping& raw = detail::item_at(list.items, i);
      Mapping mapping{raw.smooth, {}, raw.parent};
      for (std::size_t b = 0; b < raw.balance_count; ++b) mapping.balance.emplace_back(raw.balance[b]);
      result.push_back(std::move(mapping));
    }
    return result;
  }

  // The host's function table and the C handle, for calls the wrapper does not cover.
  const llmc_host_api& host() const noexcept { return *host_; }
  llmc_layer* raw() const noexcept { return raw_; }

 private:
  const llmc_host_api* host_;
  llmc_layer* raw_;
};

// ------------------------------------------------------------------------------------------------
// Recipe keys: terse llmc_option_spec rows, e.g.
//     constexpr llmc_option_spec options[] = {
//         llmc::sdk::float_option("sparsity", "0.5", "fraction to prune"),
//         llmc::sdk::string_option("log_file", llmc::sdk::required, "where to write")};
// Defaults are TOML literals: "0.5", "true", R"("2:4")", "[]"; `required` marks a key without one.
// ------------------------------------------------------------------------------------------------

// The default of a key the recipe must set.
inline constexpr const char* required = nullptr;

// One recipe key of `type`; the six functions below fix the type.
constexpr llmc_option_spec option_spec(const char* key, llmc_option_type type, const char* default_value,
                                       const char* description) noexcept {
  return {sizeof(llmc_option_spec), key, type, default_value, description};
}
constexpr llmc_option_spec bool_option(const char* key, const char* default_value, const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_BOOL, default_value, description);
}
constexpr llmc_option_spec int_option(const char* key, const char* default_value, const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_INT, default_value, description);
}
constexpr llmc_option_spec float_option(const char* key, const char* default_value, const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_FLOAT, default_value, description);
}
constexpr llmc_option_spec string_option(const char* key, const char* default_value, const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_STRING, default_value, description);
}
constexpr llmc_option_spec string_list_option(const char* key, const char* default_value,
                                              const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_STRING_LIST, default_value, description);
}
constexpr llmc_option_spec float_list_option(const char* key, const char* default_value,
                                             const char* description) noexcept {
  return option_spec(key, LLMC_OPTION_FLOAT_LIST, default_value, description);
}

// ------------------------------------------------------------------------------------------------
// The adapter: a plugin class -> an llmc_plugin_descriptor
// ------------------------------------------------------------------------------------------------

// Which lifecycle member functions a plugin class has (each becomes a descriptor callback).
template <class P>
concept HasInitialize = requires(P& plugin, const ModuleList& modules) { plugin.initialize(modules); };
template <class P>
concept HasCalibrate = requires(P& plugin, Layer& layer, const CalibrationBatch& batch) {
  plugin.calibrate(layer, batch);
};
template <class P>
concept HasCompress = requires(P& plugin, Layer& layer, const ModuleList& modules) {
  plugin.compress(layer, modules);
};
template <class P>
concept HasFinalize = requires(P& plugin) { plugin.finalize(); };
// A plugin that links LibTorch declares `static constexpr const char* torch_version = TORCH_VERSION;`.
template <class P>
concept HasTorchVersion = requires { { P::torch_version } -> std::convertible_to<const char*>; };

namespace detail {

// A (non-overloaded) member named like a callback: it must then have the callback's signature.
template <class P> concept NamesInitialize = requires { &P::initialize; };
template <class P> concept NamesCalibrate = requires { &P::calibrate; };
template <class P> concept NamesCompress = requires { &P::compress; };
template <class P> concept NamesFinalize = requires { &P::finalize; };

// One plugin instance: the Context outlives the plugin, which holds a reference to it.
template <class P>
struct Instance {
  Instance(const llmc_host_api* host, llmc_host_ctx* ctx) : context(host, ctx), plugin(context) {}
  Context context;
  P plugin;
};

// Runs `body`, returning NULL, or the exception it threw as a status made by `host`.
template <class Body>
llmc_status* guard(const llmc_host_api& host, Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const Error& e) {
    return host.status_create(e.code() == LLMC_OK ? LLMC_ERROR_INTERNAL : e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return host.status_create(LLMC_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return host.status_create(LLMC_ERROR_INTERNAL, e.what());
  } catch (...) {
    return host.status_create(LLMC_ERROR_INTERNAL, "unknown exception");
  }
}

// The C callbacks of plugin class P.
template <class P>
struct Callbacks {
  static Instance<P>& instance(void* self) noexcept { return *static_cast<Instance<P>*>(self); }

  static llmc_status* create(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self) noexcept {
    return guard(*host, [&] { *out_self = new Instance<P>(host, ctx); });
  }
  static llmc_status* initialize(void* self, const llmc_module_list* modules) noexcept {
    Instance<P>& inst = instance(self);
    return guard(inst.context.host(), [&] { inst.plugin.initialize(ModuleList(*modules)); });
  }
  static llmc_status* calibrate(void* self, llmc_layer* layer, const llmc_calibration_batch* batch) noexcept {
    Instance<P>& inst = instance(self);
    return guard(inst.context.host(), [&] {
      Layer view(inst.context.host(), layer);
      inst.plugin.calibrate(view, CalibrationBatch(*batch));
    });
  }
  static llmc_status* compress(void* self, llmc_layer* layer, const llmc_module_list* modules) noexcept {
    Instance<P>& inst = instance(self);
    return guard(inst.context.host(), [&] {
      Layer view(inst.context.host(), layer);
      inst.plugin.compress(view, ModuleList(*modules));
    });
  }
  static llmc_status* finalize(void* self) noexcept {
    Instance<P>& inst = instance(self);
    return guard(inst.context.host(), [&] { inst.plugin.finalize(); });
  }
  static void destroy(void* self) noexcept { delete static_cast<Instance<P>*>(self); }
};

}  // namespace detail

// The descriptor of plugin class P: callbacks for the member functions it has, NULL for the others.
// `name` is the recipe's plugin = "..." ([a-z0-9_]+); `options` must have static storage duration.
template <class P>
constexpr llmc_plugin_descriptor make_descriptor(const char* name, const char* version, const char* description,
                                                 std::uint64_t capabilities,
                                                 std::span<const llmc_option_spec> options = {}) noexcept {
  static_assert(std::constructible_from<P, Context&>, "a plugin class is constructible from llmc::sdk::Context&");
  static_assert(!detail::NamesInitialize<P> || HasInitialize<P>,
                "initialize must be callable as initialize(const llmc::sdk::ModuleList&)");
  static_assert(!detail::NamesCalibrate<P> || HasCalibrate<P>,
                "calibrate must be callable as calibrate(llmc::sdk::Layer&, const llmc::sdk::CalibrationBatch&)");
  static_assert(!detail::NamesCompress<P> || HasCompress<P>,
                "compress must be callable as compress(llmc::sdk::Layer&, const llmc::sdk::ModuleList&)");
  static_assert(!detail::NamesFinalize<P> || HasFinalize<P>, "finalize must be callable as finalize()");
  using C = detail::Callbacks<P>;
  llmc_plugin_descriptor d{};
  d.struct_size = sizeof(llmc_plugin_descriptor);
  d.abi_major = LLMC_ABI_MAJOR;
  d.abi_minor = LLMC_ABI_MINOR;
  d.name = name;
  d.version = version;
  d.description = description;
  d.capabilities = capabilities;
  d.options = options.data();
  d.option_count = options.size();
  if constexpr (HasTorchVersion<P>) d.torch_version = P::torch_version;
  d.create = &C::create;
  if constexpr (HasInitialize<P>) d.initialize = &C::initialize;
  if constexpr (HasCalibrate<P>) d.calibrate = &C::calibrate;
  if constexpr (HasCompress<P>) d.compress = &C::compress;
  if constexpr (HasFinalize<P>) d.finalize = &C::finalize;
  d.destroy = &C::destroy;
  return d;
}

}  // namespace llmc::sdk

// Defines plugin `name` (an identifier, [a-z0-9_]+, also the recipe's plugin = "name") from class
// `Class`: its static descriptor and the entry symbols (llmc_plugin_entry and
// llmc_<name>_plugin_entry, see LLMC_PLUGIN_DEFINE). The optional last argument is the array of
// recipe keys. Use once, at global scope, in one source file of the plugin.
#define LLMC_CPP_PLUGIN(Class, name, version, description, capabilities, ...)                     \
  static constexpr llmc_plugin_descriptor llmc_cpp_##name##_descriptor =                         \
      ::llmc::sdk::make_descriptor<Class>(#name, version, description, capabilities __VA_OPT__(, ) \
                                              __VA_ARGS__);                                       \
  LLMC_PLUGIN_DEFINE(name, llmc_cpp_##name##_descriptor)

#endif  // LLMC_PLUGIN_HPP
