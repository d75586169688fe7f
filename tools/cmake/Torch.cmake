# LibTorch from the PyPI torch wheel in .venv (tools/setup.sh). Two workarounds, both measured on this
# machine kind (see shared/specs/verified-facts.md section 2):
#  - TORCH_CUDA_ARCH_LIST set before find_package skips torch's GPU-detection try_run, which CMake 3.25
#    cannot compile with nvcc 13 ("requires the language dialect CUDA20").
#  - -rpath-link to the wheel's nvidia/*/lib dirs, or the linker picks Debian's older libnccl.
if(NOT LLMC_TORCH_SITE_PACKAGES)
  execute_process(
    COMMAND "${LLMC_PYTHON}" -c "import os, torch; print(torch.utils.cmake_prefix_path); print(os.path.dirname(os.path.dirname(torch.__file__)))"
    OUTPUT_VARIABLE _llmc_torch_out RESULT_VARIABLE _llmc_torch_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _llmc_torch_rc EQUAL 0)
    message(FATAL_ERROR "LibTorch not found with ${LLMC_PYTHON}: run tools/setup.sh (it installs the torch "
                        "wheel into .venv)")
  endif()
  string(REPLACE "\n" ";" _llmc_torch_out "${_llmc_torch_out}")
  list(GET _llmc_torch_out 0 _prefix)
  list(GET _llmc_torch_out 1 _site)
  set(LLMC_TORCH_CMAKE_PREFIX "${_prefix}" CACHE INTERNAL "")
  set(LLMC_TORCH_SITE_PACKAGES "${_site}" CACHE INTERNAL "")
endif()
list(APPEND CMAKE_PREFIX_PATH "${LLMC_TORCH_CMAKE_PREFIX}")
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0;10.0;12.0")
endif()
find_package(Torch REQUIRED)
# Installed binaries find LibTorch where the build found it (the torch wheel in .venv).
list(APPEND CMAKE_INSTALL_RPATH "${LLMC_TORCH_SITE_PACKAGES}/torch/lib")
file(GLOB _llmc_nvidia_libs LIST_DIRECTORIES true "${LLMC_TORCH_SITE_PACKAGES}/nvidia/*/lib")
foreach(dir IN LISTS _llmc_nvidia_libs)
  add_link_options("LINKER:-rpath-link,${dir}")
endforeach()

# The host needs ATen on the CPU only: linking `torch` would also load libtorch_cuda and its CUDA
# libraries at start-up, about 490 MB of resident memory before any work (measured: `llmc --help`
# peaked at 499 MB with `torch`). Plugins that run CUDA link `torch` themselves.
add_library(llmc_torch_cpu INTERFACE)
target_link_libraries(llmc_torch_cpu INTERFACE torch_cpu c10)
target_compile_options(llmc_torch_cpu INTERFACE ${TORCH_CXX_FLAGS})
add_library(llmc::torch_cpu ALIAS llmc_torch_cpu)
