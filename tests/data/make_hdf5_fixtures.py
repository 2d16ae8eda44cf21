#!/usr/bin/python3
"""Writes the HDF5 fixtures of tests/datasets/test_hdf5_file.cpp into tests/data/fixtures/.

Run it with Debian's python3 (apt-get install python3-h5py python3-numpy python3-hdf5storage):
    /usr/bin/python3 tests/data/make_hdf5_fixtures.py
The outputs are committed; the tests never run Python. Every array is drawn from a fixed seed,
so a rerun writes the same values (the HDF5 bytes may differ by library version).

Files (all prefixed h5_):
  h5_mat73.mat      a MAT v7.3 file laid out as MATLAB writes one: a 512-byte user block
                    holding the MAT header text, every variable a root dataset stored
                    transposed (MATLAB is column-major) with a MATLAB_class attribute, the
                    contents of cells under '#refs#'. Numeric: u (double, MATLAB shape
                    (2, 4, 5, 6), chunked + gzip as MATLAB does), s (single), k (int16),
                    b8 (int8, (34, 2, 33): past one 32 x 32 tile of the transpose), mask
                    (logical). Not numeric: c (cell), st (struct), name (char), e (empty).
  h5_hdf5storage.mat  a second, independent v7.3 writer (hdf5storage.savemat): w (double).
  h5_plain.h5       plain HDF5 with nested groups: vil/frames (float32 (N, T, H, W), chunked +
                    gzip), meta/counts (int32), meta/deep/big_endian ('>f8'), line (1-d
                    float64), half (float16); not numeric: labels (strings), scalar (0-d),
                    flags (bool), pairs (compound), a soft and an external link.
  h5_bad_*.h5       one dataset x each, its metadata then patched where libhdf5 trusts it
                    (each found by fuzzing under ASan): dims_{contiguous,chunked} claim
                    (13, 2^36) instead of (13, 11), 3.5 TB in a 3 KB file; chunk_bytes says
                    an unfiltered chunk holds 3 bytes, not 128; chunk_dims makes the chunk
                    (4, 8405057); type gives int8 a precision of 200 bits.
  h5_<file>_<array>.npy  the values each numeric array must read as: little-endian float64,
                    C order over the shape the reader reports (MATLAB's order for .mat).
"""
import os
import struct
import sys

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
rng = np.random.default_rng(20240611)

# The first 116 bytes of a MAT v7.3 file are text, then the subsystem offset (8 bytes), the
# version 0x0200 and the endian indicator "IM"; HDF5's superblock starts at byte 512.
MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Jun 11 12:00:00 2024 HDF5 schema 1.00 ."


def expect(stem, name, values):
    """The expected values of array `name` of fixture `stem`, in the reader's shape."""
    np.save(os.path.join(OUT, f"h5_{stem}_{name.replace('/', '_')}.npy"), np.asarray(values, dtype="<f8"))


def matlab_header(path):
    text = MAT73_HEADER.ljust(116, b" ")
    block = text + b"\0" * 8 + (0x0200).to_bytes(2, "little") + b"IM"
    with open(path, "r+b") as f:
        f.write(block.ljust(512, b"\0"))


def mat_var(f, name, matlab_array, matlab_class, **kwargs):
    """A MATLAB variable: stored transposed, tagged with its class."""
    d = f.create_dataset(name, data=np.asarray(matlab_array).T, **kwargs)
    d.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    return d


def write_mat73():
    path = os.path.join(OUT, "h5_mat73.mat")
    u = rng.standard_normal((2, 4, 5, 6))
    s = rng.standard_normal((3, 7)).astype(np.float32)
    k = rng.integers(-30000, 30000, size=(4, 3, 2)).astype(np.int16)
    mask = rng.integers(0, 2, size=(3, 5)).astype(np.uint8)
    b8 = rng.integers(-128, 128, size=(34, 2, 33)).astype(np.int8)  # > 32 rows and columns
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        mat_var(f, "u", u, "double", chunks=(4, 2, 3, 1), compression="gzip", compression_opts=3)
        mat_var(f, "s", s, "single")
        mat_var(f, "k", k, "int16")
        mat_var(f, "b8", b8, "int8")
        m = mat_var(f, "mask", mask, "logical")
        m.attrs["MATLAB_int_decode"] = np.int32(1)
        # A 1x2 cell {[1 2 3], 'ab'}: a dataset of object references into '#refs#'.
        refs = f.create_group("#refs#")
        a = mat_var(refs, "a", np.array([[1.0, 2.0, 3.0]]), "double")
        b = mat_var(refs, "b", np.array([[ord("a"), ord("b")]], dtype=np.uint16), "char")
        c = f.create_dataset("c", data=np.array([[a.ref], [b.ref]], dtype=h5py.ref_dtype))
        c.attrs["MATLAB_class"] = np.bytes_("cell")
        st = f.create_group("st")  # struct st with field x
        st.attrs["MATLAB_class"] = np.bytes_("struct")
        mat_var(st, "x", np.array([[7.0]]), "double")
        n = mat_var(f, "name", np.array([[ord(ch) for ch in "vil"]], dtype=np.uint16), "char")
        n.attrs["MATLAB_int_decode"] = np.int32(2)
        e = f.create_dataset("e", data=np.array([0, 0], dtype=np.uint64))  # e = [] (its dims)
        e.attrs["MATLAB_class"] = np.bytes_("double")
        e.attrs["MATLAB_empty"] = np.uint8(1)
    matlab_header(path)
    for name, values in (("u", u), ("s", s), ("k", k), ("b8", b8), ("mask", mask)):
        expect("mat73", name, values)


def write_hdf5storage():
    import hdf5storage

    w = rng.standard_normal((3, 2, 4))
    path = os.path.join(OUT, "h5_hdf5storage.mat")
    hdf5storage.savemat(path, {"w": w}, format="7.3", matlab_compatible=True, store_python_metadata=False)
    expect("hdf5storage", "w", w)


def write_plain():
    path = os.path.join(OUT, "h5_plain.h5")
    frames = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    counts = rng.integers(-1000, 1000, size=(5, 3)).astype(np.int32)
    big = rng.standard_normal((4, 5)) * 1e3
    line = np.linspace(-1.0, 2.0, 10)
    half = (rng.standard_normal((6, 2)) * 4).astype(np.float16)
    with h5py.File(path, "w", libver="latest") as f:  # the compact format: smaller files
        f.create_dataset("vil/frames", data=frames, chunks=(2, 3, 5, 4), compression="gzip", compression_opts=4)
        f.create_dataset("meta/counts", data=counts)
        f.create_dataset("meta/deep/big_endian", data=big.astype(">f8"))
        f.create_dataset("line", data=line)
        f.create_dataset("half", data=half)
        f.create_dataset("labels", data=["a", "bc", "def"], dtype=h5py.string_dtype())
        f.create_dataset("scalar", data=3.5)
        f.create_dataset("flags", data=np.array([True, False, True]))
        f.create_dataset("pairs", data=np.array([(1, 2.0)], dtype=[("i", "<i4"), ("x", "<f8")]))
        f["alias"] = h5py.SoftLink("/vil/frames")
        f["elsewhere"] = h5py.ExternalLink("h5_missing.h5", "/x")
    for name, values in (("vil/frames", frames), ("meta/counts", counts), ("meta/deep/big_endian", big),
                         ("line", line), ("half", half)):
        expect("plain", name, values)


def write_corrupt(name, x, chunks, old, new):
    """A file with one dataset x whose metadata bytes `old` (found exactly once) become `new`."""
    path = os.path.join(OUT, f"h5_bad_{name}.h5")
    with h5py.File(path, "w", libver="earliest") as f:  # no metadata checksums to fix up
        f.create_dataset("x", data=x, chunks=chunks)
    data = open(path, "rb").read()
    assert data.count(old) == 1, f"{path}: expected the bytes to patch once, found {data.count(old)}"
    open(path, "wb").write(data.replace(old, new))


def write_corrupt_files():
    f4 = np.arange(13 * 11, dtype="<f4").reshape(13, 11)
    f8 = np.arange(64, dtype="<f8").reshape(8, 8)
    # The dataspace message: dims, then max dims.
    dims, huge = struct.pack("<4Q", 13, 11, 13, 11), struct.pack("<4Q", 13, 1 << 36, 13, 1 << 36)
    write_corrupt("dims_contiguous", f4, None, dims, huge)
    write_corrupt("dims_chunked", f4, (13, 11), dims, huge)
    # The first chunk's key in the chunk B-tree: stored bytes, filter mask, offsets (0, 0, 0).
    key = struct.pack("<II3Q", 128, 0, 0, 0, 0)
    write_corrupt("chunk_bytes", f8, (4, 4), key, struct.pack("<II3Q", 3, 0, 0, 0, 0))
    # The layout message's chunk dims (4, 4) and element size 8.
    write_corrupt("chunk_dims", f8, (4, 4), struct.pack("<3I", 4, 4, 8), struct.pack("<3I", 4, 0x804041, 8))
    # The datatype message of int8: version 1 fixed-point, signed, size 1, offset 0, precision 8.
    int8 = bytes([0x10, 0x08, 0, 0]) + struct.pack("<IHH", 1, 0, 8)
    write_corrupt("type", np.arange(12, dtype="i1"), None, int8, int8[:-2] + struct.pack("<H", 200))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_mat73()
    write_hdf5storage()
    write_plain()
    write_corrupt_files()
    for name in sorted(os.listdir(OUT)):
        if name.startswith("h5_"):
            print(f"{os.path.getsize(os.path.join(OUT, name)):7d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
