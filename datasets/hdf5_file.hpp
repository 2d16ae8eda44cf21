#pragma once
// MAT v7.3 and plain HDF5 files through libhdf5 (an optional dependency: cmake/Hdf5.cmake).
// Called by open_array_file (datasets/array_file.hpp) once the magic bytes say HDF5; the
// conventions of ArrayFile hold. What each flavour returns from arrays():
// - plain HDF5: every dataset reachable through hard links, by its full path without the
//   leading '/' ("vil/frames"), in NumPy's shape, whose type is an integer or a float of any
//   size and byte order. Not returned: 0-d (scalar) datasets, which have no axis 0; strings,
//   compounds, enums (h5py's bool), references, arrays of arrays; virtual and external-storage
//   datasets (they would read other files).
// - MAT v7.3: the root datasets whose MATLAB_class is double, single, int8..int64,
//   uint8..uint64 or logical (read as 0/1, dtype "bool"), in MATLAB's shape (the reverse of
//   the HDF5 dims: MATLAB's first axis is HDF5's last). Not returned: cell, struct, char,
//   function handles, objects, sparse matrices (groups), empty variables (MATLAB_empty: their
//   data are their dims, not values), complex numbers (compound type).
// Asking read_rows for anything else gives one error saying what the dataset is instead.
#include <memory>
#include <string>

#include "sdkd/datasets/array_file.hpp"

namespace sdkd::data {

// Opens `path` (an HDF5 file, with any user block) with MATLAB's conventions when `mat73`.
// Throws sdkd::Error naming the file for a missing, non-HDF5 or malformed file, and when this
// build has no libhdf5 (then the message says to install libhdf5-dev and reconfigure).
std::unique_ptr<ArrayFile> open_hdf5_file(const std::string& path, bool mat73);

// Whether this build reads HDF5 (SDKD_WITH_HDF5: libhdf5 was found at configure time).
bool hdf5_supported();

}  // namespace sdkd::data
