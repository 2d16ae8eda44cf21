// MAT v7.3 and plain HDF5 through libhdf5's C API (see datasets/hdf5_file.hpp for what is
// listed). HDF5 does the parsing, decompression and type conversion (H5Dread into
// H5T_NATIVE_FLOAT from any integer or float, either byte order); this file maps its objects
// onto ArrayFile, turns its failures into one sdkd::Error each and, for MAT, transposes.
#include "sdkd/datasets/hdf5_file.hpp"

#include "sdkd/error.hpp"

#if !SDKD_WITH_HDF5

namespace sdkd::data {

std::unique_ptr<ArrayFile> open_hdf5_file(const std::string& path, bool mat73) {
  throw Error(str_cat(path, ": ", mat73 ? "a MAT v7.3 file is HDF5" : "an HDF5 file",
                      ", but this build has no HDF5 support: install libhdf5-dev and reconfigure "
                      "(cmake -DSDKD_HDF5=ON), or save the data as .npy or MAT v5 (MATLAB: save -v7)"));
}

bool hdf5_supported() { return false; }

}  // namespace sdkd::data

#else

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace sdkd::data {
namespace {

constexpr int kMaxRank = 32;  // HDF5's own limit (H5S_MAX_RANK); a larger rank is a broken file
// Deflate packs at most 1032:1, the most of the filters data files use (gzip, szip, shuffle).
constexpr double kMaxPacking = 1100;

// One HDF5 identifier, closed by its own close function when it goes out of scope.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Id& operator=(Id&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// HDF5 prints its error stack to stderr by default; we report through sdkd::Error instead.
// The setting belongs to the calling thread's error stack (thread-safe builds keep one per
// thread), so every entry point calls this, and clears what an earlier call may have left.
void quiet_hdf5() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Eclear2(H5E_DEFAULT);
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears it.
std::string hdf5_reason() {
  std::string desc;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &desc);
  H5Eclear2(H5E_DEFAULT);
  return desc;
}

// The callbacks of the two iterators changed signature in HDF5 1.12 (object tokens instead
// of addresses); we use only the fields both versions have. Both iterate in the file's native
// order and the caller sorts: in name order HDF5 first copies a large group's links into a
// table, and when reading them fails half-way (a corrupt file) it frees the table's unfilled,
// uninitialised entries too, a crash (found under ASan; still so in HDF5 1.14).
#if H5_VERSION_GE(1, 12, 0)
using ObjectInfo = H5O_info2_t;
using LinkInfo = H5L_info2_t;
herr_t visit_objects(hid_t group, herr_t (*op)(hid_t, const char*, const ObjectInfo*, void*), void* data) {
  return H5Ovisit3(group, H5_INDEX_NAME, H5_ITER_NATIVE, op, data, H5O_INFO_BASIC);
}
herr_t iterate_links(hid_t group, herr_t (*op)(hid_t, const char*, const LinkInfo*, void*), void* data) {
  return H5Literate2(group, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, op, data);
}
#else
using ObjectInfo = H5O_info_t;
using LinkInfo = H5L_info_t;
herr_t visit_objects(hid_t group, herr_t (*op)(hid_t, const char*, const ObjectInfo*, void*), void* data) {
  return H5Ovisit2(group, H5_INDEX_NAME, H5_ITER_NATIVE, op, data, H5O_INFO_BASIC);
}
herr_t iterate_links(hid_t group, herr_t (*op)(hid_t, const char*, const LinkInfo*, void*), void* data) {
  return H5Literate(group, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, op, data);
}
#endif

// A dataset's element type: its dtype name when HDF5 converts it to float, else what it is.
struct ElementType {
  bool numeric = false;
  std::string text;  // "float32", "uint16", ... or "a dataset of strings", ...
};

ElementType element_type(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return {true, str_cat(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits)};
    case H5T_FLOAT:
      return {true, str_cat("float", bits)};
    case H5T_STRING:
      return {false, "a dataset of strings"};
    case H5T_COMPOUND:
      return {false, "a dataset of records (a compound type; complex numbers are stored so)"};
    case H5T_ENUM:
      return {false, "a dataset of enums (h5py stores bool arrays so)"};
    case H5T_REFERENCE:
      return {false, "a dataset of object references (a MATLAB cell holds them)"};
    default:
      return {false, "a dataset of a non-numeric type (bitfield, opaque, array or variable-length)"};
  }
}

// HDF5's conversions trust a type's bit fields; a corrupt type message can put them outside
// the element, and the conversion then writes past its buffer (found under ASan).
bool bits_within_element(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8, precision = H5Tget_precision(type), offset = H5Tget_offset(type);
  if (bits == 0 || bits > 128 || precision == 0 || offset + precision > bits) return false;
  if (H5Tget_class(type) != H5T_FLOAT) return true;
  size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return false;
  return spos < precision && esize >= 1 && esize <= 32 && epos + esize <= precision && msize >= 1 &&
         msize <= 128 && mpos + msize <= precision;
}

bool numeric_matlab_class(const std::string& c) {
  static const char* const kNumeric[] = {"double", "single", "int8",   "uint8",  "int16",   "uint16",
                                         "int32",  "uint32", "int64",  "uint64", "logical"};
  return std::find(std::begin(kNumeric), std::end(kNumeric), c) != std::end(kNumeric);
}

// dst = src with its axes reversed, both in C order: dst[j0, ..., jr-1] = src[jr-1, ..., j0].
// This maps MATLAB's column-major storage onto C order over MATLAB's shape. For each index of
// the middle axes it is a 2-D transpose between src's first axis (dst's contiguous one) and
// src's last (src's contiguous one), done in tiles so that both sides stay in cache.
void reverse_axes(const float* src, const std::vector<int64_t>& shape, float* dst) {
  const size_t r = shape.size();
  std::vector<int64_t> src_stride(r, 1), dst_stride(r, 1);  // both indexed by src axis
  for (size_t k = r - 1; k-- > 0;) src_stride[k] = src_stride[k + 1] * shape[k + 1];
  for (size_t k = 1; k < r; ++k) dst_stride[k] = dst_stride[k - 1] * shape[k - 1];
  const int64_t rows = shape[0], cols = shape[r - 1], s_row = src_stride[0], d_col = dst_stride[r - 1];
  const int64_t middle = src_stride[0] / cols;  // elements over axes 1..r-2
  constexpr int64_t kTile = 32;
  std::vector<int64_t> idx(r, 0);
  int64_t s_off = 0, d_off = 0;
  for (int64_t m = 0; m < middle; ++m) {
    for (int64_t i0 = 0; i0 < rows; i0 += kTile)
      for (int64_t j0 = 0; j0 < cols; j0 += kTile)
        for (int64_t j = j0; j < std::min(j0 + kTile, cols); ++j)
          for (int64_t i = i0; i < std::min(i0 + kTile, rows); ++i)
            dst[d_off + j * d_col + i] = src[s_off + i * s_row + j];
    for (size_t k = r - 2; k >= 1; --k) {  // odometer over the middle axes, last fastest
      s_off += src_stride[k];
      d_off += dst_stride[k];
      if (++idx[k] < shape[k]) break;
      s_off -= shape[k] * src_stride[k];
      d_off -= shape[k] * dst_stride[k];
      idx[k] = 0;
    }
  }
}

class Hdf5File final : public ArrayFile {
 public:
  Hdf5File(const std::string& path, bool mat73);
  std::string format() const override { return mat73_ ? "MAT v7.3" : "HDF5"; }
  std::vector<ArrayInfo> arrays() const override;
  void read_rows(const std::string& name, int64_t first, int64_t count, float* out) const override;

 private:
  struct Array {
    ArrayInfo info;
    std::vector<hsize_t> dims;  // HDF5's order (reversed for MAT)
    int row_axis = 0;           // the HDF5 axis that is axis 0 of info.shape
    std::vector<hsize_t> chunk;  // chunk dims, empty when not chunked
    size_t element_bytes = 0;    // in the file
    int filters = 0;             // in the chunks' filter pipeline
  };

  [[noreturn]] void fail(const std::string& what) const {
    const std::string why = hdf5_reason();
    throw Error(str_cat(path(), ": ", what, why.empty() ? "" : " (HDF5: " + why + ")"));
  }
  hid_t checked(hid_t id, const std::string& what) const {
    if (id < 0) fail(what);
    return id;
  }
  std::vector<std::string> dataset_names();
  void add(const std::string& name);
  std::string inspect(hid_t dataset, const std::string& name, Array& out) const;
  struct Attribute {
    Id id, type;
  };
  std::optional<Attribute> attribute(hid_t obj, const char* attr, H5T_class_t kind, const std::string& what) const;
  std::string string_attribute(hid_t obj, const std::string& obj_name, const char* attr) const;
  bool nonzero_attribute(hid_t obj, const std::string& obj_name, const char* attr) const;
  void dims_of(hid_t dataset, const std::string& name, std::vector<hsize_t>& dims,
               std::vector<hsize_t>& max_dims) const;
  void check_size(hid_t dataset, const Array& a) const;
  const Array& find(const std::string& name) const;
  hid_t open_for_reading(const Array& a) const;
  void check_chunks(hid_t dataset, const Array& a, const std::vector<hsize_t>& start,
                    const std::vector<hsize_t>& size, const std::string& what) const;

  bool mat73_;
  Id file_;
  hsize_t file_bytes_ = 0;
  std::vector<Array> arrays_;
  std::map<std::string, std::string> not_numeric_;  // name -> what it is, for read_rows' error
  // Datasets stay open between reads so that their chunk caches (decompressed chunks) do.
  mutable std::mutex mutex_;
  mutable std::map<std::string, Id> open_;
};

Hdf5File::Hdf5File(const std::string& path, bool mat73) : ArrayFile(path), mat73_(mat73) {
  quiet_hdf5();
  // HDF5's own message for a missing file is a generic "unable to open file".
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    throw Error(str_cat(path, ": cannot open: ", std::strerror(errno)));
  }
  Id fapl(checked(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access list"), H5Pclose);
#if H5_VERSION_GE(1, 10, 7)
  // We only read; a file system without locks (NFS, Lustre) must not make the open fail.
  H5Pset_file_locking(fapl.get(), true, /*ignore_when_disabled=*/true);
#endif
  file_ = Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file_.ok()) fail(str_cat("cannot open as ", format(), " (expected an HDF5 file with a valid superblock)"));
  if (H5Fget_filesize(file_.get(), &file_bytes_) < 0) fail("cannot read the file's size");
  for (const auto& name : dataset_names()) add(name);
}

// Plain HDF5: every dataset under the root, recursively (H5Ovisit follows hard links only and
// visits each object once, so link cycles and external files are never entered). MAT: only
// the root's hard links (variables); groups (structs, '#refs#') are noted as not numeric.
std::vector<std::string> Hdf5File::dataset_names() {
  struct Found {
    std::vector<std::string> datasets;
    std::map<std::string, std::string>& groups;
  } found{{}, not_numeric_};
  herr_t rc;
  if (!mat73_) {
    rc = visit_objects(
        file_.get(),
        [](hid_t, const char* name, const ObjectInfo* info, void* data) -> herr_t {
          auto& f = *static_cast<Found*>(data);
          try {
            if (info->type == H5O_TYPE_DATASET) f.datasets.emplace_back(name);
            if (info->type == H5O_TYPE_GROUP && std::strcmp(name, ".") != 0) f.groups[name] = "a group";
            return 0;
          } catch (...) {
            return -1;  // no exception may cross HDF5's C frames
          }
        },
        &found);
  } else {
    rc = iterate_links(
        file_.get(),
        [](hid_t root, const char* name, const LinkInfo* info, void* data) -> herr_t {
          auto& f = *static_cast<Found*>(data);
          try {
            if (info->type != H5L_TYPE_HARD) return 0;
            Id obj(H5Oopen(root, name, H5P_DEFAULT), H5Oclose);
            if (!obj.ok()) return -1;
            const H5I_type_t t = H5Iget_type(obj.get());
            if (t == H5I_DATASET) f.datasets.emplace_back(name);
            if (t == H5I_GROUP) f.groups[name] = "a group (a MATLAB struct, sparse matrix or object)";
            return 0;
          } catch (...) {
            return -1;
          }
        },
        &found);
  }
  if (rc < 0) fail("cannot list the datasets (expected readable groups)");
  // Names in order within each group, a group's contents right after its name: '/' first.
  std::sort(found.datasets.begin(), found.datasets.end(), [](const std::string& a, const std::string& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return (x == '/' ? 0 : (unsigned char)x + 1) < (y == '/' ? 0 : (unsigned char)y + 1);
    });
  });
  return found.datasets;
}

void Hdf5File::add(const std::string& name) {
  Id d(checked(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), str_cat("cannot open dataset '", name, "'")),
       H5Dclose);
  Array a;
  std::string why = inspect(d.get(), name, a);
  if (why.empty()) {
    arrays_.push_back(std::move(a));
  } else {
    not_numeric_[name] = std::move(why);
  }
}

// "" with `out` filled when `dataset` is a numeric array, else what it is instead.
std::string Hdf5File::inspect(hid_t dataset, const std::string& name, Array& out) const {
  std::string matlab_class;
  if (mat73_) {
    matlab_class = string_attribute(dataset, name, "MATLAB_class");
    if (!matlab_class.empty() && !numeric_matlab_class(matlab_class)) return "a MATLAB " + matlab_class;
    // An empty variable's data are its dims (uint64), not values.
    if (nonzero_attribute(dataset, name, "MATLAB_empty")) return "an empty MATLAB variable";
  }
  Id dcpl(checked(H5Dget_create_plist(dataset), str_cat("cannot read the storage of '", name, "'")), H5Pclose);
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL) return "a virtual dataset (its data are in other files)";
  if (H5Pget_external_count(dcpl.get()) > 0) return "a dataset stored in external raw files";
  Id type(checked(H5Dget_type(dataset), str_cat("cannot read the type of '", name, "'")), H5Tclose);
  const ElementType t = element_type(type.get());
  if (!t.numeric) return t.text;
  if (!bits_within_element(type.get())) fail(str_cat("dataset '", name, "' has a malformed ", t.text, " type"));
  std::vector<hsize_t> max_dims;
  dims_of(dataset, name, out.dims, max_dims);
  if (out.dims.empty()) return "a 0-d (scalar) dataset, which has no rows";
  out.element_bytes = H5Tget_size(type.get());
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    // HDF5 sizes its chunk buffers by these dims, so they must be ones it would have written:
    // none 0, none above its axis's maximum, the chunk under 4 GiB.
    out.chunk.resize(out.dims.size());
    out.filters = H5Pget_nfilters(dcpl.get());
    bool ok = out.filters >= 0 &&
              H5Pget_chunk(dcpl.get(), int(out.chunk.size()), out.chunk.data()) == int(out.chunk.size());
    double bytes = double(out.element_bytes);
    for (size_t k = 0; k < out.chunk.size(); ++k) {
      ok = ok && out.chunk[k] > 0 && out.chunk[k] <= max_dims[k];
      bytes *= double(out.chunk[k]);
    }
    if (!ok || bytes >= 4294967296.0) fail(str_cat("dataset '", name, "' has a malformed chunk layout"));
  }
  out.info.name = name;
  out.info.dtype = matlab_class == "logical" ? "bool" : t.text;
  out.info.shape.assign(out.dims.begin(), out.dims.end());
  if (mat73_) std::reverse(out.info.shape.begin(), out.info.shape.end());
  out.row_axis = mat73_ ? int(out.dims.size()) - 1 : 0;
  check_size(dataset, out);
  return "";
}

// A corrupt dataspace can claim any size, and the caller allocates what the shape says, so
// the size must be one the file holds: contiguous or compact data are stored as they are
// (all or nothing), chunked data at best deflated 1032:1. Chunks never written read as the
// fill value; an array mostly unwritten, larger than kMaxPacking times the file, is refused.
void Hdf5File::check_size(hid_t dataset, const Array& a) const {
  double bytes = double(a.element_bytes);
  for (hsize_t d : a.dims) bytes *= double(d);
  const double stored = double(H5Dget_storage_size(dataset));
  const bool ok = a.chunk.empty() && stored > 0 ? stored == bytes : bytes <= kMaxPacking * double(file_bytes_);
  if (ok) return;
  std::string shape;
  for (int64_t d : a.info.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  fail(str_cat("dataset '", a.info.name, "' claims shape (", shape, ") of ", a.info.dtype, ", ", bytes, " bytes, but ",
               a.chunk.empty() && stored > 0 ? str_cat("stores ", stored, " bytes")
                                             : str_cat("the file has ", file_bytes_, " bytes"),
               " (expected a dataspace that fits the file: corrupt?)"));
}

// Attribute `attr` of `obj` when it exists; it must then be one value of type class `kind`
// (else the error `what`).
std::optional<Hdf5File::Attribute> Hdf5File::attribute(hid_t obj, const char* attr, H5T_class_t kind,
                                                       const std::string& what) const {
  const htri_t has = H5Aexists(obj, attr);
  if (has < 0) fail(what);
  if (has == 0) return std::nullopt;
  Attribute a{Id(checked(H5Aopen(obj, attr, H5P_DEFAULT), what), H5Aclose), Id()};
  a.type = Id(checked(H5Aget_type(a.id.get()), what), H5Tclose);
  Id space(checked(H5Aget_space(a.id.get()), what), H5Sclose);
  if (H5Tget_class(a.type.get()) != kind || H5Sget_simple_extent_npoints(space.get()) != 1) fail(what);
  return a;
}

// A string attribute (fixed-length as MATLAB writes it, or variable-length), "" when absent.
std::string Hdf5File::string_attribute(hid_t obj, const std::string& obj_name, const char* attr) const {
  const std::string what = str_cat("cannot read attribute ", attr, " of '", obj_name, "' (expected one string)");
  const auto a = attribute(obj, attr, H5T_STRING, what);
  if (!a) return "";
  std::string value;
  if (H5Tis_variable_str(a->type.get()) > 0) {
    Id mem(checked(H5Tcopy(H5T_C_S1), what), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    char* s = nullptr;
    if (H5Aread(a->id.get(), mem.get(), &s) < 0) fail(what);
    value = s ? s : "";
    H5free_memory(s);
  } else {
    const size_t size = H5Tget_size(a->type.get());
    if (size == 0 || size > 4096) fail(what);  // class names are short; this one is broken
    std::vector<char> buf(size);
    if (H5Aread(a->id.get(), a->type.get(), buf.data()) < 0) fail(what);
    value.assign(buf.data(), strnlen(buf.data(), size));
  }
  while (!value.empty() && value.back() == ' ') value.pop_back();  // space-padded strings
  return value;
}

bool Hdf5File::nonzero_attribute(hid_t obj, const std::string& obj_name, const char* attr) const {
  const std::string what = str_cat("cannot read attribute ", attr, " of '", obj_name, "' (expected one integer)");
  const auto a = attribute(obj, attr, H5T_INTEGER, what);
  unsigned long long v = 0;
  if (a && H5Aread(a->id.get(), H5T_NATIVE_ULLONG, &v) < 0) fail(what);
  return v != 0;
}

// The dims and maximum dims (empty for a scalar), checked: rank at most 32 and the element
// count (with zero dims taken as 1, so that every partial product is bounded too)
// representable in int64.
void Hdf5File::dims_of(hid_t dataset, const std::string& name, std::vector<hsize_t>& dims,
                       std::vector<hsize_t>& max_dims) const {
  const std::string what = str_cat("dataset '", name, "' has a malformed dataspace");
  Id space(checked(H5Dget_space(dataset), what), H5Sclose);
  const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
  dims.clear();
  max_dims.clear();
  if (kind == H5S_SCALAR || kind == H5S_NULL) return;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (kind != H5S_SIMPLE || rank < 1 || rank > kMaxRank) fail(str_cat(what, " (expected rank 1 to ", kMaxRank, ")"));
  dims.resize(static_cast<size_t>(rank));
  max_dims.resize(dims.size());
  if (H5Sget_simple_extent_dims(space.get(), dims.data(), max_dims.data()) != rank) fail(what);
  const auto max = hsize_t(std::numeric_limits<int64_t>::max());
  hsize_t n = 1;
  for (hsize_t d : dims) {
    const hsize_t f = std::max<hsize_t>(d, 1);
    if (f > max / n) fail(str_cat(what, " (more than 2^63 elements)"));
    n *= f;
  }
}

std::vector<ArrayInfo> Hdf5File::arrays() const {
  std::vector<ArrayInfo> out;
  for (const auto& a : arrays_) out.push_back(a.info);
  return out;
}

const Hdf5File::Array& Hdf5File::find(const std::string& name) const {
  for (const auto& a : arrays_)
    if (a.info.name == name) return a;
  if (auto it = not_numeric_.find(name); it != not_numeric_.end())
    throw Error(str_cat(path(), ": '", name, "' is ", it->second, " (expected a numeric dataset of rank 1 or more)"));
  std::string names;
  for (const auto& a : arrays_) names += (names.empty() ? "" : ", ") + a.info.name;
  throw Error(str_cat(path(), ": no array '", name, "' (numeric arrays: ", names.empty() ? "none" : names, ")"));
}

// Opens a dataset with a chunk cache big enough for every chunk one row of it touches, so
// that reading rows one after another decompresses each chunk once, not once per row (HDF5's
// default 1 MiB cache drops chunks larger than that, as a MATLAB variable's often are).
// Capped at 256 MiB per dataset.
hid_t Hdf5File::open_for_reading(const Array& a) const {
  if (auto it = open_.find(a.info.name); it != open_.end()) return it->second.get();
  const std::string what = str_cat("cannot open dataset '", a.info.name, "'");
  Id dapl(checked(H5Pcreate(H5P_DATASET_ACCESS), what), H5Pclose);
  if (!a.chunk.empty()) {
    double chunk_bytes = double(a.element_bytes), row_bytes = chunk_bytes;
    for (size_t k = 0; k < a.chunk.size(); ++k) {
      const double c = double(std::max<hsize_t>(a.chunk[k], 1));
      chunk_bytes *= c;
      row_bytes *= int(k) == a.row_axis ? c : std::max(std::ceil(double(a.dims[k]) / c), 1.0) * c;
    }
    const double bytes = std::clamp(row_bytes, double(1 << 20), double(256 << 20));
    const double slots = std::clamp(10 * bytes / std::max(chunk_bytes, 1.0) + 1, 521.0, double(1 << 20));
    H5Pset_chunk_cache(dapl.get(), size_t(slots), size_t(bytes), H5D_CHUNK_CACHE_W0_DEFAULT);
  }
  Id d(checked(H5Dopen2(file_.get(), a.info.name.c_str(), dapl.get()), what), H5Dclose);
  return open_.emplace(a.info.name, std::move(d)).first->second.get();
}

// HDF5 copies the bytes of a chunk that went through no filter (none set, or all skipped by the
// chunk's mask) as the chunk index counts them, into a buffer of the chunk's size: a corrupt
// count makes it read past that buffer (found under ASan). So the chunks a read touches are
// checked first. (A compressed chunk that inflates short has the same effect; only a crafted
// stream does that, as zlib checks what it inflates.)
void Hdf5File::check_chunks(hid_t dataset, const Array& a, const std::vector<hsize_t>& start,
                            const std::vector<hsize_t>& size, const std::string& what) const {
#if H5_VERSION_GE(1, 10, 5)
  const size_t r = a.dims.size();
  const unsigned unfiltered = a.filters >= 32 ? ~0u : (1u << a.filters) - 1;  // mask bits: filter skipped
  hsize_t chunk_bytes = a.element_bytes;
  std::vector<hsize_t> first(r), last(r), at(r), offset(r);
  for (size_t k = 0; k < r; ++k) {
    chunk_bytes *= a.chunk[k];
    first[k] = at[k] = start[k] / a.chunk[k];
    last[k] = (start[k] + size[k] - 1) / a.chunk[k];
  }
  for (size_t k = r; k > 0;) {
    for (size_t j = 0; j < r; ++j) offset[j] = at[j] * a.chunk[j];
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t bytes = 0;
    if (H5Dget_chunk_info_by_coord(dataset, offset.data(), &mask, &addr, &bytes) < 0) fail(what);
    if (addr != HADDR_UNDEF && (mask & unfiltered) == unfiltered && bytes != chunk_bytes) {
      std::string where;
      for (hsize_t o : offset) where += (where.empty() ? "" : ", ") + std::to_string(o);
      fail(str_cat(what, ": its chunk at (", where, ") holds ", bytes, " bytes, expected ", chunk_bytes,
                   " (a corrupt chunk index?)"));
    }
    for (k = r; k > 0; --k) {  // next chunk, last axis fastest; k == 0 after the last one
      if (++at[k - 1] <= last[k - 1]) break;
      at[k - 1] = first[k - 1];
    }
  }
#else
  (void)dataset, (void)a, (void)start, (void)size, (void)what;
#endif
}

void Hdf5File::read_rows(const std::string& name, int64_t first, int64_t count, float* out) const {
  quiet_hdf5();
  const Array& a = find(name);
  const int64_t rows = a.info.shape[0];
  SDKD_CHECK(first >= 0 && count >= 0 && first <= rows - count, path(), ": rows [", first, ", ", first + count,
             ") of '", name, "' are out of range (expected within [0, ", rows, "))");
  std::vector<hsize_t> start(a.dims.size(), 0), size = a.dims;
  start[size_t(a.row_axis)] = hsize_t(first);
  size[size_t(a.row_axis)] = hsize_t(count);
  int64_t n = 1;
  for (hsize_t s : size) n *= int64_t(s);
  if (n == 0) return;  // no rows asked, or another axis is empty
  const std::string what = str_cat("cannot read rows [", first, ", ", first + count, ") of '", name, "'");

  const std::lock_guard<std::mutex> lock(mutex_);
  const hid_t d = open_for_reading(a);
  if (!a.chunk.empty()) check_chunks(d, a, start, size, what);
  Id file_space(checked(H5Dget_space(d), what), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, size.data(), nullptr) < 0)
    fail(what);
  // The same shape in memory as in the file lets HDF5 copy whole chunks instead of mapping
  // every element between two selections (2-3x faster on a compressed MATLAB variable).
  Id mem_space(checked(H5Screate_simple(int(size.size()), size.data(), nullptr), what), H5Sclose);
  // MATLAB's rows are HDF5's last axis: read them in HDF5's order, then reverse the axes.
  const bool transpose = mat73_ && a.dims.size() > 1;
  std::vector<float> staged(transpose ? size_t(n) : 0);
  float* dst = transpose ? staged.data() : out;
  if (H5Dread(d, H5T_NATIVE_FLOAT, mem_space.get(), file_space.get(), H5P_DEFAULT, dst) < 0) fail(what);
  if (transpose) reverse_axes(staged.data(), std::vector<int64_t>(size.begin(), size.end()), out);
}

}  // namespace

std::unique_ptr<ArrayFile> open_hdf5_file(const std::string& path, bool mat73) {
  return std::make_unique<Hdf5File>(path, mat73);
}

bool hdf5_supported() { return true; }

}  // namespace sdkd::data

#endif
