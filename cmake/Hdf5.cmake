# Optional libhdf5 (C API) for MAT v7.3 and HDF5 files (datasets/hdf5_file.cpp): AUTO uses it
# when it is found and a program linking it links, ON requires it, OFF skips it. Without it
# those files get one error saying the build has no HDF5 support; everything else works.
# Result: the interface target sdkd_hdf5 (libhdf5 and SDKD_WITH_HDF5=1 when found, empty
# otherwise), linked privately into sdkd_core.
set(SDKD_HDF5 "AUTO" CACHE STRING "Read MAT v7.3 and HDF5 files with libhdf5: AUTO (if found), ON, OFF")
set_property(CACHE SDKD_HDF5 PROPERTY STRINGS AUTO ON OFF)

set(SDKD_WITH_HDF5 OFF)
set(_sdkd_hdf5_why "SDKD_HDF5=OFF")
if(NOT SDKD_HDF5 STREQUAL "OFF")
  # Debian installs the serial and the MPI builds side by side (.../hdf5/serial, .../hdf5/openmpi);
  # we read files, one process each: the serial one, without MPI's compiler and libraries.
  set(HDF5_PREFER_PARALLEL OFF)
  find_package(HDF5 COMPONENTS C)
  set(_sdkd_hdf5_why "libhdf5 not found (Debian: apt-get install libhdf5-dev)")
  if(HDF5_FOUND AND TARGET hdf5::hdf5)
    list(GET HDF5_C_LIBRARIES 0 _sdkd_hdf5_lib)
    # A copied libhdf5 (.ci/make-deps, on a machine without Debian packages) can be found and
    # still not link when a library it needs (libcurl, libcrypto, ...) is missing there: check
    # now, so AUTO turns HDF5 off instead of failing the build.
    include(CheckCSourceCompiles)
    set(CMAKE_REQUIRED_LIBRARIES hdf5::hdf5)
    set(CMAKE_REQUIRED_QUIET ON)
    check_c_source_compiles("#include <hdf5.h>\nint main(void) { return H5open() < 0; }" SDKD_HDF5_LINKS)
    unset(CMAKE_REQUIRED_LIBRARIES)
    unset(CMAKE_REQUIRED_QUIET)
    if(SDKD_HDF5_LINKS)
      set(SDKD_WITH_HDF5 ON)
    else()
      set(_sdkd_hdf5_why "${_sdkd_hdf5_lib} (${HDF5_VERSION}) does not link (is a library it needs missing?)")
    endif()
  endif()
  if(SDKD_HDF5 STREQUAL "ON" AND NOT SDKD_WITH_HDF5)
    message(FATAL_ERROR "SDKD_HDF5=ON but ${_sdkd_hdf5_why}; use -DSDKD_HDF5=AUTO or OFF")
  endif()
endif()

add_library(sdkd_hdf5 INTERFACE)
if(SDKD_WITH_HDF5)
  # In the tree through FindHDF5's target; installed (a link-only dependency of the static
  # core, cmake/Package.cmake) as the library files themselves, so a program finding the sdkd
  # package needs neither FindHDF5 nor the C language it tests with.
  target_link_libraries(sdkd_hdf5 INTERFACE $<BUILD_INTERFACE:hdf5::hdf5>)
  foreach(_lib ${HDF5_C_LIBRARIES})
    target_link_libraries(sdkd_hdf5 INTERFACE $<INSTALL_INTERFACE:${_lib}>)
  endforeach()
  target_compile_definitions(sdkd_hdf5 INTERFACE SDKD_WITH_HDF5=1)
  message(STATUS "sdkd: HDF5 ${HDF5_VERSION} for MAT v7.3 and .h5 files (${_sdkd_hdf5_lib})")
else()
  message(STATUS "sdkd: no HDF5 support (${_sdkd_hdf5_why}); MAT v7.3 and .h5 files give an error")
endif()
set(SDKD_WITH_HDF5 ${SDKD_WITH_HDF5} CACHE INTERNAL "whether this build reads HDF5 files" FORCE)
