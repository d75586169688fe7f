/* llmc/plugin.h - the stable C ABI between the llmc host and its algorithm plugins.
 *
 * A plugin is a shared library that exports one symbol, `llmc_plugin_entry` (see LLMC_PLUGIN_DEFINE).
 * The host calls it once, right after loading, with its function table; the plugin answers with a
 * descriptor: its name, version, capability bits, the recipe keys it accepts, and its lifecycle
 * callbacks. The host then drives each recipe modifier that names the plugin through
 *
 *     create -> initialize -> (per layer: calibrate* -> compress) -> finalize -> destroy
 *
 * A NULL callback means "not implemented": a plugin without `calibrate` costs no forward pass.
 *
 * Rules of this ABI (they keep one plugin binary loadable by every host of the same major version):
 *   - C11 only: fixed-width integers, UTF-8 strings, C structs. No C++ type or exception crosses it.
 *   - Versions: same major, and plugin minor <= host minor. Both sides check (see llmc_plugin_entry_fn).
 *   - Every struct starts with `struct_size` and only grows at its end; readers treat fields past
 *     `struct_size` as absent. An array of such structs is strided by its first item's `struct_size`
 *     (not by the reader's sizeof), so a newer, larger struct is still read right. Layouts are frozen
 *     by static_asserts in tests/unit/abi/.
 *   - Errors are values: a callback returns NULL on success, or an llmc_status made by the host.
 *   - Tensors cross as DLPack (v1.x) compatible views, valid for the duration of the call only.
 *   - Threading: the host serializes the calls on one plugin instance unless a callback says otherwise.
 *
 * A minimal C plugin:
 *
 *     static llmc_status* my_compress(void* self, llmc_layer* layer, const llmc_module_list* modules) {...}
 *     static const llmc_plugin_descriptor descriptor = {
 *         .struct_size = sizeof(llmc_plugin_descriptor), .abi_major = LLMC_ABI_MAJOR,
 *         .abi_minor = LLMC_ABI_MINOR, .name = "my_algo", .version = "1.0.0", .compress = my_compress};
 *     LLMC_PLUGIN_DEFINE(my_algo, descriptor)
 *
 * C++ authors include llmc/plugin.hpp instead, which wraps all of this.
 */
#ifndef LLMC_PLUGIN_H
#define LLMC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define LLMC_ABI_MAJOR 1 /* bumped only by a breaking change (never by additions) */
#define LLMC_ABI_MINOR 2 /* bumped by every addition at the end of a struct or table */

#if defined(_WIN32)
#define LLMC_PLUGIN_VISIBLE __declspec(dllexport)
#else
#define LLMC_PLUGIN_VISIBLE __attribute__((visibility("default")))
#endif
#ifdef __cplusplus
#define LLMC_PLUGIN_EXPORT extern "C" LLMC_PLUGIN_VISIBLE
#else
#define LLMC_PLUGIN_EXPORT LLMC_PLUGIN_VISIBLE
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * DLPack-compatible tensors. Same layout and enum values as DLPack 1.x (dlpack.h): a DLTensor may be
 * reinterpreted as an llmc_dl_tensor and back. The SDK carries its own copy so that a plugin author
 * needs no header but ours; tests/unit/abi/ checks it against the torch wheel's dlpack.h.
 * ------------------------------------------------------------------------------------------------ */

typedef enum llmc_dl_device_type {
  LLMC_DL_CPU = 1,         /* kDLCPU */
  LLMC_DL_CUDA = 2,        /* kDLCUDA */
  LLMC_DL_CUDA_HOST = 3,   /* kDLCUDAHost: pinned host memory */
  LLMC_DL_CUDA_MANAGED = 13 /* kDLCUDAManaged */
} llmc_dl_device_type;

typedef struct llmc_dl_device {
  int32_t device_type; /* an llmc_dl_device_type */
  int32_t device_id;   /* 0 for the CPU; the CUDA ordinal otherwise */
} llmc_dl_device;

typedef enum llmc_dl_dtype_code {
  LLMC_DL_INT = 0,             /* kDLInt */
  LLMC_DL_UINT = 1,            /* kDLUInt */
  LLMC_DL_FLOAT = 2,           /* kDLFloat (IEEE binary16/32/64) */
  LLMC_DL_BFLOAT = 4,          /* kDLBfloat */
  LLMC_DL_BOOL = 6,            /* kDLBool */
  LLMC_DL_FLOAT8_E4M3FN = 10,  /* kDLFloat8_e4m3fn */
  LLMC_DL_FLOAT8_E5M2 = 12,    /* kDLFloat8_e5m2 */
  LLMC_DL_FLOAT8_E8M0FNU = 14, /* kDLFloat8_e8m0fnu (MX scales) */
  LLMC_DL_FLOAT4_E2M1FN = 17   /* kDLFloat4_e2m1fn (packed two per byte, low nibble first) */
} llmc_dl_dtype_code;

typedef struct llmc_dl_dtype {
  uint8_t code;   /* an llmc_dl_dtype_code */
  uint8_t bits;   /* bits per lane: 4, 8, 16, 32, 64 */
  uint16_t lanes; /* always 1 in llmc */
} llmc_dl_dtype;

typedef struct llmc_dl_tensor {
  void* data;              /* base pointer; CPU or device memory per `device` */
  llmc_dl_device device;
  int32_t ndim;            /* number of dimensions, >= 0 */
  llmc_dl_dtype dtype;
  int64_t* shape;          /* ndim sizes */
  int64_t* strides;        /* ndim strides in elements, or NULL for compact row-major */
  uint64_t byte_offset;    /* offset of the first element from `data`, in bytes */
} llmc_dl_tensor;

typedef struct llmc_dl_version {
  uint32_t major; /* DLPack major (1) */
  uint32_t minor;
} llmc_dl_version;

#define LLMC_DL_FLAG_READ_ONLY (1ULL << 0) /* DLPACK_FLAG_BITMASK_READ_ONLY */

/* An owned tensor (DLManagedTensorVersioned layout): call `deleter(self)` exactly once to free it. */
typedef struct llmc_dl_managed_tensor {
  llmc_dl_version version;
  void* manager_ctx;                                   /* the owner's private state */
  void (*deleter)(struct llmc_dl_managed_tensor* self); /* frees the tensor; never NULL */
  uint64_t flags;                                      /* LLMC_DL_FLAG_* */
  llmc_dl_tensor dl_tensor;
} llmc_dl_managed_tensor;

/* ------------------------------------------------------------------------------------------------
 * Errors as values.
 * ------------------------------------------------------------------------------------------------ */

typedef enum llmc_status_code {
  LLMC_OK = 0,
  LLMC_ERROR_INVALID_ARGUMENT = 1, /* a bad recipe value or tensor the user can fix */
  LLMC_ERROR_NOT_FOUND = 2,        /* a named module, tensor or key does not exist */
  LLMC_ERROR_OUT_OF_MEMORY = 3,    /* an allocation failed or exceeded the run's memory budget */
  LLMC_ERROR_UNSUPPORTED = 4,      /* valid, but not supported (dtype, device, shape) */
  LLMC_ERROR_NUMERICAL = 5,        /* a numerical failure (e.g. a Cholesky factorization) */
  LLMC_ERROR_ABI_MISMATCH = 6,     /* host and plugin ABI versions are incompatible */
  LLMC_ERROR_INTERNAL = 7          /* a bug */
} llmc_status_code;

/* An error: host-owned, opaque. NULL means success. A status returned from a callback passes to the
 * host, which frees it; a status the plugin received from a host function and does not return must be
 * released with llmc_host_api.status_release. */
typedef struct llmc_status llmc_status;

/* ------------------------------------------------------------------------------------------------
 * Recipe keys a plugin accepts. The host validates the recipe against these specs (unknown keys and
 * wrong types are errors with file:line:column), applies the defaults, and serves typed values.
 * ------------------------------------------------------------------------------------------------ */

typedef enum llmc_option_type {
  LLMC_OPTION_BOOL = 1,
  LLMC_OPTION_INT = 2,         /* int64 */
  LLMC_OPTION_FLOAT = 3,       /* double; an integer literal is accepted */
  LLMC_OPTION_STRING = 4,
  LLMC_OPTION_STRING_LIST = 5, /* an array of strings */
  LLMC_OPTION_FLOAT_LIST = 6   /* an array of numbers */
} llmc_option_type;

typedef struct llmc_option_spec {
  uint32_t struct_size;
  const char* key;           /* the recipe key, snake_case; unique within the plugin */
  int32_t type;              /* an llmc_option_type */
  const char* default_value; /* the default as a TOML value ("0.5", "true", "\"2:4\"", "[]"), or NULL
                                when the key is required */
  const char* description;   /* one line, shown by `llmc plugins --verbose` */
} llmc_option_spec;

/* ------------------------------------------------------------------------------------------------
 * Modules: the host owns the model and does all target/ignore matching; a plugin sees the modules a
 * modifier resolved to.
 * ------------------------------------------------------------------------------------------------ */

typedef enum llmc_module_kind {
  LLMC_MODULE_OTHER = 0,
  LLMC_MODULE_LINEAR = 1,    /* `weight` [out, in], optional `bias` [out] */
  LLMC_MODULE_EMBEDDING = 2, /* `weight` [vocab, hidden] */
  LLMC_MODULE_NORM = 3       /* `weight` [hidden] (RMSNorm/LayerNorm), optional `bias` */
} llmc_module_kind;

typedef struct llmc_module_info {
  uint32_t struct_size;
  const char* name;        /* the full Hugging Face module name, e.g. "model.layers.3.mlp.down_proj" */
  int32_t kind;            /* an llmc_module_kind */
  int32_t layer_index;     /* the decoder layer it belongs to, or -1 (embeddings, final norm, head) */
  int32_t group_index;     /* which of the modifier's [[modifier.group]] tables matched it (0 when the
                              modifier has no groups), or -1 for a modifier without quantization */
  int32_t reserved0;       /* zero */
  const char* scheme_json; /* the resolved compressed-tensors QuantizationScheme of this module as JSON
                              (targets, weights, input_activations, output_activations, format), or
                              NULL when the modifier sets no quantization */
} llmc_module_info;

typedef struct llmc_module_list {
  uint32_t struct_size;
  size_t count;
  const llmc_module_info* items; /* `count` entries, in model order; valid for the call */
} llmc_module_list;

/* A unit of work the host holds in memory: one decoder layer, or one group of modules outside the
 * layers. Opaque; valid for the duration of the callback that received it. */
typedef struct llmc_layer llmc_layer;

/* Per-instance host state, handed to create and passed back to host functions. Opaque. */
typedef struct llmc_host_ctx llmc_host_ctx;

typedef enum llmc_access {
  LLMC_ACCESS_READ = 1, /* the view must not be written */
  LLMC_ACCESS_WRITE = 2 /* the view may be written in place; the host keeps the result */
} llmc_access;

typedef enum llmc_log_level {
  LLMC_LOG_DEBUG = 0,
  LLMC_LOG_INFO = 1,
  LLMC_LOG_WARNING = 2,
  LLMC_LOG_ERROR = 3
} llmc_log_level;

/* One batch of calibration activations for the modules of one layer. */
typedef struct llmc_module_activation {
  uint32_t struct_size;
  const char* module;           /* the module name (one of the modifier's modules in this layer) */
  const llmc_dl_tensor* input;  /* the module's input, [tokens, in_features]; read only. Modules that
                                   read the same tensor (q/k/v_proj, gate/up_proj) get views of the
                                   same memory: equal `input->data` within one batch */
  const llmc_dl_tensor* output; /* its output, [tokens, out_features]; NULL unless the plugin sets
                                   LLMC_CAP_NEEDS_OUTPUTS */
} llmc_module_activation;

typedef struct llmc_calibration_batch {
  uint32_t struct_size;
  int64_t batch_index;                 /* 0-based index of the calibration batch */
  size_t count;
  const llmc_module_activation* items; /* one entry per module of the modifier in this layer */
  /* ABI 1.2 */
  int64_t sequences;                   /* calibration samples in this batch (>= 1): the inputs' tokens
                                          are theirs, concatenated, padding excluded */
} llmc_calibration_batch;

/* A smoothing mapping (AWQ, SmoothQuant): the output of `smooth` is the input of every balance layer,
 * so scaling the balance layers' input columns by s and dividing `smooth`'s output by s leaves the
 * model's function unchanged. */
typedef struct llmc_mapping {
  uint32_t struct_size;
  const char* smooth;          /* a norm, or a Linear (v_proj before o_proj, up_proj before down_proj) */
  size_t balance_count;        /* >= 1 */
  const char* const* balance;  /* the Linears that read `smooth`'s output, in model order */
  const char* parent;          /* the smallest block that runs every balance layer: the balance Linear
                                  itself when there is one, else the attention block
                                  ("model.layers.3.self_attn") or the MLP block ("model.layers.3.mlp");
                                  llmc_host_api.module_forward runs it */
} llmc_mapping;

typedef struct llmc_mapping_list {
  uint32_t struct_size;
  size_t count;
  const llmc_mapping* items; /* `count` entries in model order; valid until the callback returns */
} llmc_mapping_list;

/* ------------------------------------------------------------------------------------------------
 * The host function table (host -> plugin). Append-only. Every function is thread-safe unless noted,
 * never throws, and leaves out-parameters untouched on error.
 * ------------------------------------------------------------------------------------------------ */

typedef struct llmc_host_api {
  uint32_t struct_size;
  uint16_t abi_major; /* the host's LLMC_ABI_MAJOR */
  uint16_t abi_minor; /* the host's LLMC_ABI_MINOR */
  const char* host_version; /* e.g. "0.1.0" */

  /* Errors. `status_create` copies `message` (UTF-8) and never returns NULL for a code other than
   * LLMC_OK (if it cannot allocate, it returns a static out-of-memory status). */
  llmc_status* (*status_create)(int32_t code, const char* message);
  int32_t (*status_code)(const llmc_status* status);          /* LLMC_OK for NULL */
  const char* (*status_message)(const llmc_status* status);   /* "" for NULL; valid until released */
  void (*status_release)(llmc_status* status);                /* accepts NULL */

  /* Logging, tagged with the modifier. */
  void (*log)(llmc_host_ctx* ctx, int32_t level, const char* message);

  /* Recipe keys of this instance, typed as declared in the descriptor. Strings stay valid until
   * destroy. A wrong key or type returns LLMC_ERROR_NOT_FOUND / LLMC_ERROR_INVALID_ARGUMENT. */
  llmc_status* (*option_get_bool)(llmc_host_ctx* ctx, const char* key, int32_t* out);
  llmc_status* (*option_get_int)(llmc_host_ctx* ctx, const char* key, int64_t* out);
  llmc_status* (*option_get_float)(llmc_host_ctx* ctx, const char* key, double* out);
  llmc_status* (*option_get_string)(llmc_host_ctx* ctx, const char* key, const char** out);
  llmc_status* (*option_get_list_size)(llmc_host_ctx* ctx, const char* key, size_t* out);
  llmc_status* (*option_get_list_string)(llmc_host_ctx* ctx, const char* key, size_t index,
                                         const char** out);
  llmc_status* (*option_get_list_float)(llmc_host_ctx* ctx, const char* key, size_t index,
                                        double* out);
  /* An error about a recipe value that the plugin rejects: the host prefixes the key's
   * file:line:column, so the user sees where to fix it. */
  llmc_status* (*option_error)(llmc_host_ctx* ctx, const char* key, const char* message);

  /* Tensor memory, counted against the run's memory budget (LLMC_ERROR_OUT_OF_MEMORY past it).
   * The result is compact row-major, zero-filled, owned by the caller: free it with its deleter. */
  llmc_status* (*tensor_alloc)(llmc_host_ctx* ctx, llmc_dl_dtype dtype, int32_t ndim,
                               const int64_t* shape, llmc_dl_device device,
                               llmc_dl_managed_tensor** out);
  /* Copies `src` into `dst` (same shape), converting the element type; float results round to
   * nearest even. Supports bool, int8..int64, uint8, float16, bfloat16, float32, float64 and
   * float8_e4m3fn, CPU and CUDA. */
  llmc_status* (*tensor_copy)(llmc_host_ctx* ctx, const llmc_dl_tensor* src, llmc_dl_tensor* dst);

  /* The current layer's tensors. Called only from within the callback that received `layer`.
   * `tensor_get` gives a view of `module`.`tensor` ("weight", "bias", ...) valid until that callback
   * returns; LLMC_ACCESS_WRITE views may be written in place and the host keeps the result.
   * `tensor_set` adds or replaces `module`.`tensor` with a copy of `value` (any dtype and shape), e.g.
   * a "weight_scale"; the host writes it to the output checkpoint. */
  llmc_status* (*tensor_get)(llmc_layer* layer, const char* module, const char* tensor,
                             int32_t access, llmc_dl_tensor* out);
  llmc_status* (*tensor_set)(llmc_layer* layer, const char* module, const char* tensor,
                             const llmc_dl_tensor* value);
  /* Which layer this is: its index (-1 outside the decoder layers) and a display name. */
  int32_t (*layer_index)(const llmc_layer* layer);
  const char* (*layer_name)(const llmc_layer* layer);

  /* --- ABI 1.1: quantization services. A module's scheme is the one the recipe resolved for it
   * (llmc_module_info.scheme_json); the math is the host's one implementation of compressed-tensors'. */

  /* Observes `module`'s current weight with its scheme's weight observer (or `observer`, e.g. "mse",
   * when not NULL), computes the quantization parameters (scale, zero point, global scale) and records
   * them; when the host writes the layer it quantizes the weight with them and packs it in the scheme's
   * format. Tensor-group schemes (NVFP4) share one global scale among the module's fused siblings in
   * the layer (q/k/v, gate/up), as the reference does. A module whose scheme quantizes no weight
   * (e.g. UNQUANTIZED) records nothing; a module without a scheme is LLMC_ERROR_UNSUPPORTED. Called
   * only from within the callback that received `layer`. */
  llmc_status* (*quant_weight)(llmc_layer* layer, const char* module, const char* observer);

  /* --- ABI 1.2: services for calibrated algorithms (GPTQ, SparseGPT, AWQ, SmoothQuant). */

  /* Withdrawn: always LLMC_ERROR_UNSUPPORTED. It quantized with the columns in a given order and wrote
   * weight_g_idx (GPTQ's actorder "group"), which compressed-tensors 0.19 removed and no longer loads.
   * The slot stays so that the table's layout does not change. */
  llmc_status* (*quant_weight_ordered)(llmc_layer* layer, const char* module, const char* observer,
                                       const llmc_dl_tensor* order);
  /* Fake-quantizes (quantizes, then dequantizes) `values` [out_features, n], n columns of `module`'s
   * weight, with the parameters quant_weight recorded for `module` in this
   * callback: value column j is weight column columns[j] (`columns`: int64 [n], CPU; NULL means
   * 0..n-1) and uses the scale and zero point of that column's group, block or channel. Writes `out`
   * (the shape of `values`; may be `values` itself). float32, float16 or bfloat16, CPU or CUDA. */
  llmc_status* (*quant_fake_quantize)(llmc_layer* layer, const char* module, const llmc_dl_tensor* values,
                                      const llmc_dl_tensor* columns, llmc_dl_tensor* out);
  /* Fake-quantizes `module`'s current weight with its scheme and parameters observed from it now by
   * memoryless min-max (tensor_group siblings share a global scale from their current weights),
   * records nothing, and writes the result to `out` ([out_features, in_features], float32 or the
   * weight's dtype). AWQ's grid search. */
  llmc_status* (*quant_fake_quantize_weight)(llmc_layer* layer, const char* module, llmc_dl_tensor* out);
  /* Runs `module` of this layer (a Linear, or a mapping's parent block) with the layer's current
   * weights on its input in calibration batch `batch_index`, as the host cached it while the layer
   * calibrated, and returns the output ([tokens, out_features] for a Linear, [tokens, hidden] for a
   * block), in the compute dtype, owned by the caller. Only in compress, and only for plugins with
   * LLMC_CAP_RUNS_MODULES (the host then keeps those inputs until compress returns). */
  llmc_status* (*module_forward)(llmc_layer* layer, const char* module, int64_t batch_index,
                                 llmc_dl_managed_tensor** out);
  /* The smoothing mappings of the architecture in this layer for `algorithm` ("awq" or
   * "smoothquant"), as the reference defines them, keeping those whose balance layers are all among
   * the modules of the current callback, and leaving out v_proj -> o_proj when their widths differ
   * (grouped-query attention). Valid until the callback returns. */
  llmc_status* (*layer_mappings)(llmc_layer* layer, const char* algorithm, llmc_mapping_list* out);
  /* Sets weights.`key` to `value_json` (JSON: "\"static\"", "null", ...) in the scheme of the modifier's
   * quantization group `group_index` (llmc_module_info.group_index), as the plugin resolves it (GPTQ's
   * actorder): the checkpoint's quantization_config records it, and later callbacks' scheme_json show it.
   * Only from initialize; the result must still be valid quantization arguments. */
  llmc_status* (*scheme_set_weight_arg)(llmc_host_ctx* ctx, int32_t group_index, const char* key,
                                        const char* value_json);

  /* Append new functions here (and bump LLMC_ABI_MINOR). */
} llmc_host_api;

/* ------------------------------------------------------------------------------------------------
 * The plugin descriptor (plugin -> host). Append-only.
 * ------------------------------------------------------------------------------------------------ */

#define LLMC_CAP_QUANTIZES (1ULL << 0)          /* accepts scheme / weights / *_activations / groups */
#define LLMC_CAP_EDITS_WEIGHTS (1ULL << 1)      /* writes weights; later modifiers see the edits */
#define LLMC_CAP_NEEDS_OUTPUTS (1ULL << 2)      /* calibrate also wants each module's outputs */
#define LLMC_CAP_CONCURRENT_COMPRESS (1ULL << 3) /* compress may run on several layers at once */
#define LLMC_CAP_CUDA (1ULL << 4)               /* handles CUDA tensors (else the host gives CPU ones) */
#define LLMC_CAP_RUNS_MODULES (1ULL << 5)       /* calls module_forward in compress (ABI 1.2) */

typedef struct llmc_plugin_descriptor {
  /* These three leading fields keep their place in every major version: a host reads them from a
   * descriptor of any major to report a version mismatch. */
  uint32_t struct_size;
  uint16_t abi_major;      /* LLMC_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;      /* LLMC_ABI_MINOR the plugin was built against */
  const char* name;        /* the recipe's `plugin = "..."` value: [a-z0-9_]+ */
  const char* version;     /* the plugin's own version, e.g. "1.2.0" */
  const char* description; /* one line */
  uint64_t capabilities;   /* LLMC_CAP_* bits */
  const llmc_option_spec* options; /* the recipe keys it accepts besides the host's own */
  size_t option_count;
  const char* torch_version; /* the LibTorch version it links (the loader checks it), or NULL */

  /* Makes an instance for one recipe modifier; recipe keys are readable through `ctx` from now on.
   * `host` and `ctx` stay valid until destroy. Required.
   * Threading: called from the host's main thread; instances of one plugin may be created for several
   * modifiers, so the plugin keeps its state in `*out_self`, never in globals. */
  llmc_status* (*create)(const llmc_host_api* host, llmc_host_ctx* ctx, void** out_self);
  /* Once, before any layer: every module the modifier resolved to, across the model.
   * Threading: main thread, after every modifier's create and before any layer. */
  llmc_status* (*initialize)(void* self, const llmc_module_list* modules);
  /* Per layer and calibration batch, in batch order: activations of the modifier's modules.
   * Threading: never concurrent with another call on the same instance; batches of one layer may come
   * from a host worker thread, one at a time. */
  llmc_status* (*calibrate)(void* self, llmc_layer* layer, const llmc_calibration_batch* batch);
  /* Per layer, after its calibration: compress the modifier's `modules` of `layer` (never empty).
   * Threading: never concurrent with another call on the same instance, unless the plugin sets
   * LLMC_CAP_CONCURRENT_COMPRESS: then compress may run for different layers on several threads at
   * once (and must guard any state it shares across layers). */
  llmc_status* (*compress)(void* self, llmc_layer* layer, const llmc_module_list* modules);
  /* Once, after the last layer: report, release statistics.
   * Threading: main thread, after every compress has returned. */
  llmc_status* (*finalize)(void* self);
  /* Frees the instance; accepts NULL; called even when an earlier callback failed (but not when
   * create failed: then there is no instance). Required. Threading: main thread, last call. */
  void (*destroy)(void* self);

  /* Append new fields here (and bump LLMC_ABI_MINOR). */
} llmc_plugin_descriptor;

/* The one exported symbol. The host passes its table; the plugin sets `*out` to its static descriptor,
 * then checks that `host->abi_major` equals the major it was built against and `host->abi_minor` is at
 * least its minor: if not, it returns LLMC_ERROR_ABI_MISMATCH (and the host reads only the
 * descriptor's leading struct_size/abi_major/abi_minor, to name the versions), else LLMC_OK. The host
 * checks the same rule from the descriptor's side. Called once per load, before anything else. */
typedef int32_t (*llmc_plugin_entry_fn)(const llmc_host_api* host,
                                        const llmc_plugin_descriptor** out);

#define LLMC_PLUGIN_ENTRY_SYMBOL "llmc_plugin_entry"

/* Defines the entry symbol for `descriptor`, plus `llmc_<name>_plugin_entry` for static linking. */
#define LLMC_PLUGIN_DEFINE(name, descriptor)                                                       \
  LLMC_PLUGIN_EXPORT int32_t llmc_##name##_plugin_entry(const llmc_host_api* host,               \
                                                        const llmc_plugin_descriptor** out) {    \
    if (host == NULL || out == NULL) return LLMC_ERROR_INVALID_ARGUMENT;                          \
    *out = &(descriptor);                                                                          \
    if (host->abi_major != LLMC_ABI_MAJOR || host->abi_minor < LLMC_ABI_MINOR)                    \
      return LLMC_ERROR_ABI_MISMATCH;                                                             \
    return LLMC_OK;                                                                                \
  }                                                                                                \
  LLMC_PLUGIN_EXPORT int32_t llmc_plugin_entry(const llmc_host_api* host,                         \
                                               const llmc_plugin_descriptor** out) {              \
    return llmc_##name##_plugin_entry(host, out);                                                  \
  }

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LLMC_PLUGIN_H */
