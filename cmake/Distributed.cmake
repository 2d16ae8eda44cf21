# Several processes (distributed/): MPI for launch, host tensors and NCCL's bootstrap; NCCL for
# tensors on GPUs. SDKD_MPI=AUTO (the default) uses Open MPI when CMake finds it (Debian:
# libopenmpi-dev), ON requires it, OFF builds the single-process group only. SDKD_NCCL=AUTO uses
# the CUDA toolkit's NCCL when the build has CUDA and MPI. Results: the interface targets
# sdkd_mpi and sdkd_nccl (empty when off), linked privately into sdkd_core, and SDKD_WITH_MPI /
# SDKD_WITH_NCCL.
set(SDKD_MPI "AUTO" CACHE STRING "Run over several processes with MPI: AUTO (if found), ON, OFF")
set_property(CACHE SDKD_MPI PROPERTY STRINGS AUTO ON OFF)
set(SDKD_NCCL "AUTO" CACHE STRING "Reduce GPU tensors with NCCL (needs CUDA and MPI): AUTO, ON, OFF")
set_property(CACHE SDKD_NCCL PROPERTY STRINGS AUTO ON OFF)

set(SDKD_WITH_MPI OFF)
if(NOT SDKD_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(SDKD_WITH_MPI ON)
  elseif(SDKD_MPI STREQUAL "ON")
    message(FATAL_ERROR "SDKD_MPI=ON but no MPI was found (Debian: apt-get install libopenmpi-dev openmpi-bin); "
                        "use -DSDKD_MPI=AUTO or OFF")
  endif()
endif()
add_library(sdkd_mpi INTERFACE)
if(SDKD_WITH_MPI)
  # In the tree through FindMPI's target; installed as the library files (as sdkd_hdf5), so a
  # program finding the package needs neither FindMPI nor the C language.
  target_link_libraries(sdkd_mpi INTERFACE $<BUILD_INTERFACE:MPI::MPI_C>)
  foreach(_lib ${MPI_C_LIBRARIES})
    target_link_libraries(sdkd_mpi INTERFACE $<INSTALL_INTERFACE:${_lib}>)
  endforeach()
  target_compile_definitions(sdkd_mpi INTERFACE SDKD_WITH_MPI=1)
  message(STATUS "sdkd: MPI ${MPI_C_VERSION} for several processes (${MPI_C_LIBRARIES})")
else()
  message(STATUS "sdkd: no MPI (SDKD_MPI=${SDKD_MPI}); single-process runs only")
endif()

set(SDKD_WITH_NCCL OFF)
add_library(sdkd_nccl INTERFACE)
if(NOT SDKD_NCCL STREQUAL "OFF" AND SDKD_WITH_CUDA AND SDKD_WITH_MPI)
  # NCCL ships with the toolkit here but has no CMake target (docs/../TOOLCHAIN: find_library).
  find_path(SDKD_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(SDKD_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(SDKD_NCCL_INCLUDE AND SDKD_NCCL_LIBRARY)
    set(SDKD_WITH_NCCL ON)
    target_include_directories(sdkd_nccl INTERFACE $<BUILD_INTERFACE:${SDKD_NCCL_INCLUDE}>)
    target_link_libraries(sdkd_nccl INTERFACE $<BUILD_INTERFACE:CUDA::cudart> $<INSTALL_INTERFACE:${SDKD_NCCL_LIBRARY}>
                                              $<BUILD_INTERFACE:${SDKD_NCCL_LIBRARY}>)
    target_compile_definitions(sdkd_nccl INTERFACE SDKD_WITH_NCCL=1)
    message(STATUS "sdkd: NCCL for GPU ranks (${SDKD_NCCL_LIBRARY})")
  endif()
endif()
if(SDKD_NCCL STREQUAL "ON" AND NOT SDKD_WITH_NCCL)
  message(FATAL_ERROR "SDKD_NCCL=ON but NCCL is not usable (needs the CUDA backend, MPI, and nccl.h/libnccl in "
                      "the CUDA toolkit); use -DSDKD_NCCL=AUTO or OFF")
endif()
set(SDKD_WITH_MPI ${SDKD_WITH_MPI} CACHE INTERNAL "whether this build runs over several processes" FORCE)
set(SDKD_WITH_NCCL ${SDKD_WITH_NCCL} CACHE INTERNAL "whether this build reduces GPU tensors with NCCL" FORCE)
