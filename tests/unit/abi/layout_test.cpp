// tests/unit/abi/layout_test.cpp - the ABI freeze: the size and every field offset of every struct in
// llmc/plugin.h on x86_64 (LP64), the values of its enums and constants, and the DLPack-compatible part
// checked field by field against the torch wheel's dlpack.h (DLPack 1.3).
//
// A failing static_assert here means a change broke the ABI. Structs only grow at their end: append the
// new field's offset and the new sizeof, and bump LLMC_ABI_MINOR; never edit an existing line.
#include <ATen/dlpack.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>

#include "llmc/plugin.h"

namespace {

#define LLMC_FREEZE(type, field, offset) static_assert(offsetof(type, field) == (offset), #type "." #field)

static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "the frozen layouts are those of LP64 targets");

// ---- DLPack-compatible tensors ---------------------------------------------------------------------
static_assert(sizeof(llmc_dl_device) == 8 && alignof(llmc_dl_device) == 4);
LLMC_FREEZE(llmc_dl_device, device_type, 0);
LLMC_FREEZE(llmc_dl_device, device_id, 4);

static_assert(sizeof(llmc_dl_dtype) == 4 && alignof(llmc_dl_dtype) == 2);
LLMC_FREEZE(llmc_dl_dtype, code, 0);
LLMC_FREEZE(llmc_dl_dtype, bits, 1);
LLMC_FREEZE(llmc_dl_dtype, lanes, 2);

static_assert(sizeof(llmc_dl_tensor) == 48 && alignof(llmc_dl_tensor) == 8);
LLMC_FREEZE(llmc_dl_tensor, data, 0);
LLMC_FREEZE(llmc_dl_tensor, device, 8);
LLMC_FREEZE(llmc_dl_tensor, ndim, 16);
LLMC_FREEZE(llmc_dl_tensor, dtype, 20);
LLMC_FREEZE(llmc_dl_tensor, shape, 24);
LLMC_FREEZE(llmc_dl_tensor, strides, 32);
LLMC_FREEZE(llmc_dl_tensor, byte_offset, 40);

static_assert(sizeof(llmc_dl_version) == 8);
LLMC_FREEZE(llmc_dl_version, major, 0);
LLMC_FREEZE(llmc_dl_version, minor, 4);

static_assert(sizeof(llmc_dl_managed_tensor) == 80);
LLMC_FREEZE(llmc_dl_managed_tensor, version, 0);
LLMC_FREEZE(llmc_dl_managed_tensor, manager_ctx, 8);
LLMC_FREEZE(llmc_dl_managed_tensor, deleter, 16);
LLMC_FREEZE(llmc_dl_managed_tensor, flags, 24);
LLMC_FREEZE(llmc_dl_managed_tensor, dl_tensor, 32);

// ---- recipe options, modules, calibration ------------------------------------------------------------
static_assert(sizeof(llmc_option_spec) == 40);
LLMC_FREEZE(llmc_option_spec, struct_size, 0);
LLMC_FREEZE(llmc_option_spec, key, 8);
LLMC_FREEZE(llmc_option_spec, type, 16);
LLMC_FREEZE(llmc_option_spec, default_value, 24);
LLMC_FREEZE(llmc_option_spec, description, 32);

static_assert(sizeof(llmc_module_info) == 40);
LLMC_FREEZE(llmc_module_info, struct_size, 0);
LLMC_FREEZE(llmc_module_info, name, 8);
LLMC_FREEZE(llmc_module_info, kind, 16);
LLMC_FREEZE(llmc_module_info, layer_index, 20);
LLMC_FREEZE(llmc_module_info, group_index, 24);
LLMC_FREEZE(llmc_module_info, reserved0, 28);
LLMC_FREEZE(llmc_module_info, scheme_json, 32);

static_assert(sizeof(llmc_module_list) == 24);
LLMC_FREEZE(llmc_module_list, struct_size, 0);
LLMC_FREEZE(llmc_module_list, count, 8);
LLMC_FREEZE(llmc_module_list, items, 16);

static_assert(sizeof(llmc_module_activation) == 32);
LLMC_FREEZE(llmc_module_activation, struct_size, 0);
LLMC_FREEZE(llmc_module_activation, module, 8);
LLMC_FREEZE(llmc_module_activation, input, 16);
LLMC_FREEZE(llmc_module_activation, output, 24);

static_assert(sizeof(llmc_calibration_batch) == 40);  // 32 in ABI 1.0-1.1
LLMC_FREEZE(llmc_calibration_batch, struct_size, 0);
LLMC_FREEZE(llmc_calibration_batch, batch_index, 8);
LLMC_FREEZE(llmc_calibration_batch, count, 16);
LLMC_FREEZE(llmc_calibration_batch, items, 24);
LLMC_FREEZE(llmc_calibration_batch, sequences, 32);  // ABI 1.2

static_assert(sizeof(llmc_mapping) == 40);  // ABI 1.2
LLMC_FREEZE(llmc_mapping, struct_size, 0);
LLMC_FREEZE(llmc_mapping, smooth, 8);
LLMC_FREEZE(llmc_mapping, balance_count, 16);
LLMC_FREEZE(llmc_mapping, balance, 24);
LLMC_FREEZE(llmc_mapping, parent, 32);

static_assert(sizeof(llmc_mapping_list) == 24);  // ABI 1.2
LLMC_FREEZE(llmc_mapping_list, struct_size, 0);
LLMC_FREEZE(llmc_mapping_list, count, 8);
LLMC_FREEZE(llmc_mapping_list, items, 16);

// ---- the host function table ---------------------------------------------------------------------------
static_assert(sizeof(llmc_host_api) == 224);  // 176 in ABI 1.1
LLMC_FREEZE(llmc_host_api, struct_size, 0);
LLMC_FREEZE(llmc_host_api, abi_major, 4);
LLMC_FREEZE(llmc_host_api, abi_minor, 6);
LLMC_FREEZE(llmc_host_api, host_version, 8);
LLMC_FREEZE(llmc_host_api, status_create, 16);
LLMC_FREEZE(llmc_host_api, status_code, 24);
LLMC_FREEZE(llmc_host_api, status_message, 32);
LLMC_FREEZE(llmc_host_api, status_release, 40);
LLMC_FREEZE(llmc_host_api, log, 48);
LLMC_FREEZE(llmc_host_api, option_get_bool, 56);
LLMC_FREEZE(llmc_host_api, option_get_int, 64);
LLMC_FREEZE(llmc_host_api, option_get_float, 72);
LLMC_FREEZE(llmc_host_api, option_get_string, 80);
LLMC_FREEZE(llmc_host_api, option_get_list_size, 88);
LLMC_FREEZE(llmc_host_api, option_get_list_string, 96);
LLMC_FREEZE(llmc_host_api, option_get_list_float, 104);
LLMC_FREEZE(llmc_host_api, option_error, 112);
LLMC_FREEZE(llmc_host_api, tensor_alloc, 120);
LLMC_FREEZE(llmc_host_api, tensor_copy, 128);
LLMC_FREEZE(llmc_host_api, tensor_get, 136);
LLMC_FREEZE(llmc_host_api, tensor_set, 144);
LLMC_FREEZE(llmc_host_api, layer_index, 152);
LLMC_FREEZE(llmc_host_api, layer_name, 160);
LLMC_FREEZE(llmc_host_api, quant_weight, 168);  // ABI 1.1
LLMC_FREEZE(llmc_host_api, quant_weight_ordered, 176);  // ABI 1.2
LLMC_FREEZE(llmc_host_api, quant_fake_quantize, 184);
LLMC_FREEZE(llmc_host_api, quant_fake_quantize_weight, 192);
LLMC_FREEZE(llmc_host_api, module_forward, 200);
LLMC_FREEZE(llmc_host_api, layer_mappings, 208);
LLMC_FREEZE(llmc_host_api, scheme_set_weight_arg, 216);

// ---- the plugin descriptor ------------------------------------------------------------------------------
static_assert(sizeof(llmc_plugin_descriptor) == 112);
LLMC_FREEZE(llmc_plugin_descriptor, struct_size, 0);
LLMC_FREEZE(llmc_plugin_descriptor, abi_major, 4);
LLMC_FREEZE(llmc_plugin_descriptor, abi_minor, 6);
LLMC_FREEZE(llmc_plugin_descriptor, name, 8);
LLMC_FREEZE(llmc_plugin_descriptor, version, 16);
LLMC_FREEZE(llmc_plugin_descriptor, description, 24);
LLMC_FREEZE(llmc_plugin_descriptor, capabilities, 32);
LLMC_FREEZE(llmc_plugin_descriptor, options, 40);
LLMC_FREEZE(llmc_plugin_descriptor, option_count, 48);
LLMC_FREEZE(llmc_plugin_descriptor, torch_version, 56);
LLMC_FREEZE(llmc_plugin_descriptor, create, 64);
LLMC_FREEZE(llmc_plugin_descriptor, initialize, 72);
LLMC_FREEZE(llmc_plugin_descriptor, calibrate, 80);
LLMC_FREEZE(llmc_plugin_descriptor, compress, 88);
LLMC_FREEZE(llmc_plugin_descriptor, finalize, 96);
LLMC_FREEZE(llmc_plugin_descriptor, destroy, 104);

// ---- enum values and constants ------------------------------------------------------------------------
static_assert(LLMC_ABI_MAJOR == 1);
static_assert(LLMC_OK == 0 && LLMC_ERROR_INVALID_ARGUMENT == 1 && LLMC_ERROR_NOT_FOUND == 2 &&
              LLMC_ERROR_OUT_OF_MEMORY == 3 && LLMC_ERROR_UNSUPPORTED == 4 && LLMC_ERROR_NUMERICAL == 5 &&
              LLMC_ERROR_ABI_MISMATCH == 6 && LLMC_ERROR_INTERNAL == 7);
static_assert(LLMC_OPTION_BOOL == 1 && LLMC_OPTION_INT == 2 && LLMC_OPTION_FLOAT == 3 &&
              LLMC_OPTION_STRING == 4 && LLMC_OPTION_STRING_LIST == 5 && LLMC_OPTION_FLOAT_LIST == 6);
static_assert(LLMC_MODULE_OTHER == 0 && LLMC_MODULE_LINEAR == 1 && LLMC_MODULE_EMBEDDING == 2 &&
              LLMC_MODULE_NORM == 3);
static_assert(LLMC_ACCESS_READ == 1 && LLMC_ACCESS_WRITE == 2);
static_assert(LLMC_LOG_DEBUG == 0 && LLMC_LOG_INFO == 1 && LLMC_LOG_WARNING == 2 && LLMC_LOG_ERROR == 3);
static_assert(LLMC_CAP_QUANTIZES == 1 && LLMC_CAP_EDITS_WEIGHTS == 2 && LLMC_CAP_NEEDS_OUTPUTS == 4 &&
              LLMC_CAP_CONCURRENT_COMPRESS == 8 && LLMC_CAP_CUDA == 16 && LLMC_CAP_RUNS_MODULES == 32);
static_assert(LLMC_DL_FLAG_READ_ONLY == 1);

// ---- against DLPack (ATen/dlpack.h), field by field -------------------------------------------------------
#define LLMC_SAME_FIELD(ours, field, theirs, their_field)                 \
  static_assert(offsetof(ours, field) == offsetof(theirs, their_field) && \
                    sizeof(ours::field) == sizeof(theirs::their_field),   \
                #ours "." #field " differs from " #theirs "." #their_field)
#define LLMC_SAME_SIZE(ours, theirs)                                                \
  static_assert(sizeof(ours) == sizeof(theirs) && alignof(ours) == alignof(theirs), \
                #ours " differs from " #theirs " in size or alignment")

static_assert(DLPACK_MAJOR_VERSION == 1, "llmc speaks DLPack 1.x");

LLMC_SAME_SIZE(llmc_dl_device, DLDevice);
LLMC_SAME_FIELD(llmc_dl_device, device_type, DLDevice, device_type);
LLMC_SAME_FIELD(llmc_dl_device, device_id, DLDevice, device_id);

LLMC_SAME_SIZE(llmc_dl_dtype, DLDataType);
LLMC_SAME_FIELD(llmc_dl_dtype, code, DLDataType, code);
LLMC_SAME_FIELD(llmc_dl_dtype, bits, DLDataType, bits);
LLMC_SAME_FIELD(llmc_dl_dtype, lanes, DLDataType, lanes);

LLMC_SAME_SIZE(llmc_dl_tensor, DLTensor);
LLMC_SAME_FIELD(llmc_dl_tensor, data, DLTensor, data);
LLMC_SAME_FIELD(llmc_dl_tensor, device, DLTensor, device);
LLMC_SAME_FIELD(llmc_dl_tensor, ndim, DLTensor, ndim);
LLMC_SAME_FIELD(llmc_dl_tensor, dtype, DLTensor, dtype);
LLMC_SAME_FIELD(llmc_dl_tensor, shape, DLTensor, shape);
LLMC_SAME_FIELD(llmc_dl_tensor, strides, DLTensor, strides);
LLMC_SAME_FIELD(llmc_dl_tensor, byte_offset, DLTensor, byte_offset);

LLMC_SAME_SIZE(llmc_dl_version, DLPackVersion);
LLMC_SAME_FIELD(llmc_dl_version, major, DLPackVersion, major);
LLMC_SAME_FIELD(llmc_dl_version, minor, DLPackVersion, minor);

LLMC_SAME_SIZE(llmc_dl_managed_tensor, DLManagedTensorVersioned);
LLMC_SAME_FIELD(llmc_dl_managed_tensor, version, DLManagedTensorVersioned, version);
LLMC_SAME_FIELD(llmc_dl_managed_tensor, manager_ctx, DLManagedTensorVersioned, manager_ctx);
LLMC_SAME_FIELD(llmc_dl_managed_tensor, deleter, DLManagedTensorVersioned, deleter);
LLMC_SAME_FIELD(llmc_dl_managed_tensor, flags, DLManagedTensorVersioned, flags);
LLMC_SAME_FIELD(llmc_dl_managed_tensor, dl_tensor, DLManagedTensorVersioned, dl_tensor);

// (two C enums: compared as int, which is what crosses the ABI)
#define LLMC_SAME_VALUE(ours, theirs) static_assert(int{ours} == int{theirs}, #ours " != " #theirs)
LLMC_SAME_VALUE(LLMC_DL_CPU, kDLCPU);
LLMC_SAME_VALUE(LLMC_DL_CUDA, kDLCUDA);
LLMC_SAME_VALUE(LLMC_DL_CUDA_HOST, kDLCUDAHost);
LLMC_SAME_VALUE(LLMC_DL_CUDA_MANAGED, kDLCUDAManaged);
LLMC_SAME_VALUE(LLMC_DL_INT, kDLInt);
LLMC_SAME_VALUE(LLMC_DL_UINT, kDLUInt);
LLMC_SAME_VALUE(LLMC_DL_FLOAT, kDLFloat);
LLMC_SAME_VALUE(LLMC_DL_BFLOAT, kDLBfloat);
LLMC_SAME_VALUE(LLMC_DL_BOOL, kDLBool);
LLMC_SAME_VALUE(LLMC_DL_FLOAT8_E4M3FN, kDLFloat8_e4m3fn);
LLMC_SAME_VALUE(LLMC_DL_FLOAT8_E5M2, kDLFloat8_e5m2);
LLMC_SAME_VALUE(LLMC_DL_FLOAT8_E8M0FNU, kDLFloat8_e8m0fnu);
LLMC_SAME_VALUE(LLMC_DL_FLOAT4_E2M1FN, kDLFloat4_e2m1fn);
static_assert(LLMC_DL_FLAG_READ_ONLY == DLPACK_FLAG_BITMASK_READ_ONLY);

// The checks above are compile-time; these make the freeze visible in the test list.
TEST(AbiLayout, FrozenOnX86_64) {
  EXPECT_EQ(sizeof(llmc_host_api), 224u);  // ABI 1.2
  EXPECT_EQ(sizeof(llmc_calibration_batch), 40u);
  EXPECT_EQ(sizeof(llmc_plugin_descriptor), 112u);
}

TEST(AbiLayout, DlpackTensorReinterpretsBothWays) {
  int64_t shape[2] = {3, 4}, strides[2] = {4, 1};
  float data[12] = {};
  DLTensor theirs{data, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, strides, 8};
  const auto* ours = reinterpret_cast<const llmc_dl_tensor*>(&theirs);
  EXPECT_EQ(ours->data, data);
  EXPECT_EQ(ours->device.device_type, LLMC_DL_CPU);
  EXPECT_EQ(ours->ndim, 2);
  EXPECT_EQ(ours->dtype.code, LLMC_DL_FLOAT);
  EXPECT_EQ(ours->dtype.bits, 32);
  EXPECT_EQ(ours->shape[1], 4);
  EXPECT_EQ(ours->strides[0], 4);
  EXPECT_EQ(ours->byte_offset, 8u);
}

}  // namespace
