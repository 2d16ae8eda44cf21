# The installable package: `cmake --install build --prefix P` puts the public headers in
# P/include/sdkd/ (the engine's, version.hpp, and the layers datasets, models, eval, train,
# distill), the libraries in P/lib, the CMake package in P/lib/cmake/sdkd (find_package(sdkd)
# gives sdkd::sdkd) and P/lib/pkgconfig/sdkd.pc. Static libraries carry their private
# dependencies as link-only entries, so every target they name is exported too and the
# package finds the third-party ones again (sdkdConfig.cmake.in).
include(CMakePackageConfigHelpers)

# sdkd_package (CMakeLists.txt) is exported as sdkd::sdkd; the rest under their short names.
set_target_properties(sdkd_kernels_cpu PROPERTIES EXPORT_NAME kernels_cpu)
set_target_properties(sdkd_kernels_internal PROPERTIES EXPORT_NAME kernels_internal)
set_target_properties(sdkd_deps_private PROPERTIES EXPORT_NAME deps_private)
set_target_properties(sdkd_hdf5 PROPERTIES EXPORT_NAME hdf5)
set_target_properties(sdkd_mpi PROPERTIES EXPORT_NAME mpi)
set_target_properties(sdkd_nccl PROPERTIES EXPORT_NAME nccl)
if(SDKD_WITH_CUDA)
  set_target_properties(sdkd_kernels_cuda PROPERTIES EXPORT_NAME kernels_cuda)
  set_target_properties(sdkd_cuda_runtime PROPERTIES EXPORT_NAME cuda_runtime)
endif()

set(SDKD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sdkd)
set(SDKD_CUDA_ROOT "")
if(SDKD_WITH_CUDA)
  get_filename_component(SDKD_CUDA_ROOT "${CUDAToolkit_BIN_DIR}" DIRECTORY)
endif()
install(TARGETS sdkd_package sdkd_core ${SDKD_LIBRARIES} sdkd_kernels_internal sdkd_deps_private sdkd_hdf5 sdkd_mpi sdkd_nccl
        EXPORT sdkdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY engine/include/sdkd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/sdkd/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sdkd)
foreach(_layer ${SDKD_PUBLIC_LAYERS})
  install(DIRECTORY ${_layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sdkd/${_layer} FILES_MATCHING PATTERN "*.hpp")
endforeach()
if(SDKD_BUILD_TOOLS)
  install(TARGETS sdkd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT sdkdTargets NAMESPACE sdkd:: DESTINATION ${SDKD_CMAKE_DIR} FILE sdkdTargets.cmake)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/sdkdConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/sdkdConfig.cmake INSTALL_DESTINATION ${SDKD_CMAKE_DIR})
# Before 1.0 a minor release may change the API (docs/API.md, "Versions"): only the same
# major.minor satisfies a request.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sdkdConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sdkdConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/sdkdConfigVersion.cmake
        DESTINATION ${SDKD_CMAKE_DIR})

# pkg-config: the libraries in link order and, for the static build, what they need below them.
set(SDKD_PC_LIBS "-lsdkd_core -lsdkd_engine")
set(SDKD_PC_PRIVATE "-lsdkd_kernels_cpu")
if(SDKD_WITH_CUDA)
  string(APPEND SDKD_PC_PRIVATE " -lsdkd_kernels_cuda -lsdkd_cuda_runtime -L${CUDAToolkit_LIBRARY_DIR} -lcufft -lcublas -lcudart")
endif()
foreach(_lib ${BLAS_LIBRARIES})
  string(APPEND SDKD_PC_PRIVATE " ${_lib}")
endforeach()
string(APPEND SDKD_PC_PRIVATE " $<TARGET_LINKER_FILE:kissfft::kissfft-float> -lz")
if(SDKD_WITH_HDF5)
  foreach(_lib ${HDF5_C_LIBRARIES})
    string(APPEND SDKD_PC_PRIVATE " ${_lib}")
  endforeach()
endif()
if(SDKD_WITH_MPI)
  foreach(_lib ${MPI_C_LIBRARIES})
    string(APPEND SDKD_PC_PRIVATE " ${_lib}")
  endforeach()
endif()
if(SDKD_WITH_NCCL)
  string(APPEND SDKD_PC_PRIVATE " ${SDKD_NCCL_LIBRARY}")
endif()
if(BUILD_SHARED_LIBS)
  set(SDKD_PC_LIBS_PRIVATE "${SDKD_PC_PRIVATE}")
else()
  # A static archive's dependencies must be on every link line, not only with --static.
  string(APPEND SDKD_PC_LIBS " ${SDKD_PC_PRIVATE}")
  set(SDKD_PC_LIBS_PRIVATE "")
endif()
# Two steps: the @VARIABLES@ now, then the generator expressions (the imported kissfft's file).
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/sdkd.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sdkd.pc.in @ONLY)
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/sdkd.pc INPUT ${CMAKE_CURRENT_BINARY_DIR}/sdkd.pc.in)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sdkd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
