// core/tensor/device.h - where tensor memory lives (the CPU or a CUDA device) and the few raw memory
// operations the tensor subsystem needs there. CUDA works only in a build with LLMC_WITH_CUDA and on a
// machine with a device; elsewhere the CUDA calls return clear errors.
#pragma once

#include <cstdint>
#include <string>

#include "llmc/plugin.h"
#include "util/expected.h"

namespace llmc {

inline constexpr llmc_dl_device kCpu{LLMC_DL_CPU, 0};
inline constexpr llmc_dl_device cuda_device(int32_t ordinal) { return {LLMC_DL_CUDA, ordinal}; }

/// Host tensors start on a 64-byte boundary (one cache line, one AVX-512 vector).
inline constexpr uint64_t kCpuAlignment = 64;

/// "cpu", "cuda:1", "cuda_host", ...
std::string device_name(llmc_dl_device device);

/// Memory the CPU can address directly: kDLCPU, pinned host memory, CUDA managed memory.
bool is_host_accessible(llmc_dl_device device);

/// Number of usable CUDA devices: 0 in a build without CUDA or where no device or driver answers.
int cuda_device_count();

/// `bytes` zero-filled bytes on `device` (kDLCPU or kDLCUDA); nullptr for 0 bytes.
Expected<void*> allocate_zeroed(llmc_dl_device device, uint64_t bytes);
/// Frees what allocate_zeroed returned for the same device; accepts nullptr.
void free_memory(llmc_dl_device device, void* data);

/// Copies raw bytes between any two devices (host <-> CUDA included); synchronous.
Status copy_bytes(void* dst, llmc_dl_device dst_device, const void* src, llmc_dl_device src_device,
                  uint64_t bytes);

}  // namespace llmc
