# Third-party libraries, all from Debian (see Makefile `deps`). Nothing is downloaded.
find_package(OpenMP REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(cxxopts REQUIRED)
find_package(kissfft CONFIG REQUIRED COMPONENTS SHARED float)
find_package(ZLIB REQUIRED)

set(BLA_VENDOR OpenBLAS)
find_package(BLAS)
find_path(CBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES openblas)
find_path(STB_INCLUDE_DIR NAMES stb_image_write.h PATH_SUFFIXES stb REQUIRED)

add_library(sdkd_deps_private INTERFACE)
# What the libraries use inside (exported link-only with the static libraries, cmake/Package.cmake);
# cxxopts is the sdkd binary's alone and linked there.
target_link_libraries(sdkd_deps_private INTERFACE nlohmann_json::nlohmann_json kissfft::kissfft ZLIB::ZLIB)
target_include_directories(sdkd_deps_private INTERFACE $<BUILD_INTERFACE:${STB_INCLUDE_DIR}>)
if(BLAS_FOUND AND CBLAS_INCLUDE_DIR)
  message(STATUS "sdkd: GEMM through CBLAS (${BLAS_LIBRARIES})")
  target_link_libraries(sdkd_deps_private INTERFACE ${BLAS_LIBRARIES})
  target_include_directories(sdkd_deps_private INTERFACE ${CBLAS_INCLUDE_DIR})
  target_compile_definitions(sdkd_deps_private INTERFACE SDKD_WITH_CBLAS=1)
else()
  message(STATUS "sdkd: no CBLAS found, GEMM uses the portable blocked kernel")
endif()
