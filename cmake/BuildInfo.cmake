# What a result's provenance says about the build (tools/provenance.cpp): written into two
# generated headers of the sdkd binary.
#   sdkd_build_config.hpp  at configure time: build type, compiler, C++ flags, CUDA, BLAS
#   (the version header, sdkd/version.hpp, is written by CMakeLists.txt)
#   sdkd_git_info.hpp      at every build by cmake/GitInfo.cmake: the commit and whether the
#                          tree had uncommitted changes, so a new HEAD reaches the binary
#                          without re-running cmake (the header is rewritten only on change,
#                          so an unchanged commit recompiles nothing).
set(_gen ${CMAKE_CURRENT_BINARY_DIR}/generated)

# The C++ flags a compile line gets: CMAKE_CXX_FLAGS, the build type's, and the directory's
# compile options with the two kinds of generator expression used in CMakeLists.txt resolved
# (C++ only; per compiler id). Target-specific options (warnings, includes) are left out.
string(TOUPPER "${CMAKE_BUILD_TYPE}" _bt)
set(_flags "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_bt}}")
get_directory_property(_opts COMPILE_OPTIONS)
foreach(_o IN LISTS _opts)
  if(_o MATCHES "^\\$<\\$<COMPILE_LANGUAGE:CXX>:(.*)>$")
    set(_o "${CMAKE_MATCH_1}")
  elseif(_o MATCHES "^\\$<\\$<CXX_COMPILER_ID:([A-Za-z]+)>:(.*)>$")
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL CMAKE_MATCH_1)
      continue()
    endif()
    set(_o "${CMAKE_MATCH_2}")
  elseif(_o MATCHES "^\\$<")
    continue()  # a condition not evaluated here; better absent than wrong
  endif()
  string(APPEND _flags " ${_o}")
endforeach()
string(REGEX REPLACE "  +" " " _flags "${_flags}")
string(STRIP "${_flags}" _flags)
string(REPLACE "\\" "\\\\" _flags "${_flags}")  # the value goes into a C string literal
string(REPLACE "\"" "\\\"" SDKD_BI_CXX_FLAGS "${_flags}")
set(SDKD_BI_BUILD_TYPE "${CMAKE_BUILD_TYPE}")
set(SDKD_BI_COMPILER "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
if(SDKD_WITH_CUDA)
  set(SDKD_BI_CUDA "on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  set(SDKD_BI_CUDA "off")
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/sdkd_build_config.hpp.in ${_gen}/sdkd_build_config.hpp @ONLY)
add_custom_target(sdkd_git_info
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_SOURCE_DIR} -DOUT=${_gen}/sdkd_git_info.hpp
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/GitInfo.cmake
  BYPRODUCTS ${_gen}/sdkd_git_info.hpp
  COMMENT "sdkd: recording the git commit"
  VERBATIM)
