#!/usr/bin/python3
"""Writes the MAT v5 and .npy fixtures of tests/datasets/ into tests/data/fixtures/.

Run it with Debian's python3 (apt-get install python3-numpy python3-scipy):
    /usr/bin/python3 tests/data/make_fixtures.py
The outputs are committed; the tests never run Python. Every array is drawn from a fixed seed.

Files (prefixed mat5_ and npy_; the HDF5 ones, h5_, come from make_hdf5_fixtures.py):
  mat5_plain.mat   scipy.io.savemat, uncompressed: one numeric variable of every class (dbl
                   double, sgl single, i8 .. u64, mask logical), u (double (N, H, W, T) =
                   (2, 4, 4, 3)) and holes (double (2, 3, 3, 4) with a -Inf and a NaN); not
                   numeric: cel (cell), st (struct), txt (char), cpx (complex), sp (sparse).
  mat5_zip.mat     scipy.io.savemat, do_compression=True, as the FNO files: u (double
                   (6, 12, 12, 6), (N, H, W, T)), a (double (6, 12, 12)), t (single (1, 6));
                   cel (cell) and st (struct), both compressed.
  mat5_zip_u_NTHW.npy  the same u as '<f4' (N, T, H, W): the .npy a user would convert it to.
  mat5_one.mat     scipy.io.savemat: vort (single (8, 8, 6), H, W, T: one trajectory) and a
                   cell: the only numeric variable is the default.
  mat5_be.mat      written here byte by byte, big-endian ('MI'), the storage MATLAB chooses
                   for itself: x double as miDOUBLE, y double stored as miUINT8, z int32
                   stored as miINT16, s single (1, 1) in the small-element form, w double
                   stored as miINT8 inside an miCOMPRESSED element.
  mat5_stored.mat  written here, little-endian: one double variable per stored type (miINT8 ..
                   miUINT64, miSINGLE, miDOUBLE), some compressed. Both hand-written files are
                   checked against scipy.io.loadmat before they are kept.
  npy_<dtype>_<order>.npy  every numeric dtype (b1, i1..i8, u1..u8, f2, f4, f8) in '<' and '>'
                   ('|' for single bytes), shape (3, 4, 2) with the dtype's extremes.
  npy_native_f4.npy ('=' byte order), npy_v2_f4.npy, npy_v3_f4.npy (format versions),
  npy_fortran_f8.npy, npy_fortran_be_i2.npy (fortran_order: True), npy_f2_special.npy (float16
                   zeros, subnormals, the largest value, infinities, NaN),
  npy_frames4.npy  '<f4' (N, T, H, W) = (3, 5, 4, 4); npy_frames5.npy '<f4' (2, 5, 2, 4, 4);
  npy_nan.npy      '<f4' (2, 4, 3, 3) with NaN at [1, 2, 0, 1]; npy_c8.npy complex64 (2, 3).
  <stem>[.<var>].expected.npy  the values each array must read as: little-endian float64, C
                   order over the shape the reader reports (MATLAB's for .mat).
  manifest.txt     one line per array, `array FILE VAR DTYPE EXPECTED` (VAR '-' for .npy), and
                   per variable that is not read, `skip FILE VAR WORD` (WORD: what its
                   description must contain). tests/datasets/test_fixtures.cpp reads it.
  stats.txt        `FILE VAR min max mean std nan inf` of some arrays, from their float32 values
                   (what `sdkd data info` must print; tests/tools/data_cli.sh).
  tiny_preset.json a preset for 2 -> 2 frame windows on 12 x 12 frames (SSIM needs 11 x 11) (tests/tools/data_cli.sh).
"""
import io
import os
import struct
import zlib

import numpy as np
import scipy.io
import scipy.sparse

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
rng = np.random.default_rng(20251202)
manifest = []
stats = []


def add_stats(file, var, array):
    a = np.asarray(array, dtype=np.float32).astype(np.float64)
    ok = a[np.isfinite(a)]
    stats.append(f"{file} {var} {ok.min():.9g} {ok.max():.9g} {ok.mean():.9g} {ok.std():.9g} "
                 f"{int(np.isnan(a).sum())} {int(np.isinf(a).sum())}")


def expected(path_stem, array):
    """The values the reader must return, as '<f8' in C order."""
    name = path_stem + ".expected.npy"
    np.save(os.path.join(OUT, name), np.ascontiguousarray(np.asarray(array, dtype="<f8")))
    return name


def add_array(file, var, dtype, array):
    stem = os.path.splitext(file)[0] + ("" if var == "-" else "." + var)
    manifest.append(f"array {file} {var} {dtype} {expected(stem, array)}")


def add_skip(file, var, word):
    manifest.append(f"skip {file} {var} {word}")


# ---- MAT v5 through scipy ----

def numeric_vars():
    v = {
        "dbl": rng.normal(size=(3, 4)),
        "sgl": rng.normal(size=(2, 3, 2)).astype(np.float32),
        "i8": np.array([[-128, -1, 0], [1, 64, 127]], dtype=np.int8),
        "u8": np.array([[0, 1, 2], [128, 254, 255]], dtype=np.uint8),
        "i16": rng.integers(-32768, 32767, size=(5, 2), dtype=np.int16),
        "u16": np.array([[0, 65535], [1, 40000]], dtype=np.uint16),
        "i32": np.array([[-2**31, 2**31 - 1, 7]], dtype=np.int32),
        "u32": np.array([[0, 2**32 - 1, 12345]], dtype=np.uint32),
        # int64 values that float64 holds exactly, so the expected files are exact
        "i64": np.array([[-2**52, 2**52, -3]], dtype=np.int64),
        "u64": np.array([[0, 2**53, 99]], dtype=np.uint64),
        "mask": np.array([[True, False, True], [False, False, True]]),
        "u": rng.normal(size=(2, 4, 4, 3)),
    }
    holes = rng.normal(size=(2, 3, 3, 4))
    holes[0, 0, 1, 1] = -np.inf
    holes[1, 2, 0, 3] = np.nan
    v["holes"] = holes
    return v


def matlab_dtype(a):
    return "bool" if a.dtype == np.bool_ else str(a.dtype)


def write_mat_plain():
    v = numeric_vars()
    extra = {
        "cel": np.array([np.arange(3.0), "text"], dtype=object),
        "st": {"alpha": 1.0, "beta": np.arange(4.0)},
        "txt": "vorticity",
        "cpx": np.array([[1 + 2j, 3 - 1j]]),
        "sp": scipy.sparse.csc_matrix(np.eye(3)),
    }
    scipy.io.savemat(os.path.join(OUT, "mat5_plain.mat"), {**v, **extra}, do_compression=False)
    back = scipy.io.loadmat(os.path.join(OUT, "mat5_plain.mat"))
    for name, a in v.items():
        assert np.array_equal(back[name], a, equal_nan=True), name
        add_array("mat5_plain.mat", name, matlab_dtype(a), a)
    add_stats("mat5_plain.mat", "holes", v["holes"])
    for name, word in [("cel", "cell"), ("st", "struct"), ("txt", "char"), ("cpx", "complex"), ("sp", "sparse")]:
        add_skip("mat5_plain.mat", name, word)


def write_mat_zip():
    u = rng.normal(size=(6, 12, 12, 6))
    a = rng.normal(size=(6, 12, 12))
    t = np.arange(1, 7, dtype=np.float32).reshape(1, 6)
    extra = {"cel": np.array([np.ones(2), np.zeros(3)], dtype=object), "st": {"nu": 1e-5}}
    scipy.io.savemat(os.path.join(OUT, "mat5_zip.mat"), {"u": u, "a": a, "t": t, **extra}, do_compression=True)
    back = scipy.io.loadmat(os.path.join(OUT, "mat5_zip.mat"))
    for name, arr in [("u", u), ("a", a), ("t", t)]:
        assert np.array_equal(back[name], arr), name
        add_array("mat5_zip.mat", name, str(arr.dtype), arr)
        add_stats("mat5_zip.mat", name, arr)
    add_skip("mat5_zip.mat", "cel", "cell")
    add_skip("mat5_zip.mat", "st", "struct")
    # What a user converting the FNO file to .npy would write: (N, T, H, W) float32.
    np.save(os.path.join(OUT, "mat5_zip_u_NTHW.npy"), np.ascontiguousarray(u.transpose(0, 3, 1, 2).astype("<f4")))

    vort = rng.normal(size=(8, 8, 6)).astype(np.float32)
    scipy.io.savemat(os.path.join(OUT, "mat5_one.mat"), {"vort": vort, "names": np.array(["a", "b"], dtype=object)})
    add_array("mat5_one.mat", "vort", "float32", vort)
    add_skip("mat5_one.mat", "names", "cell")


# ---- MAT v5 byte by byte (what scipy never writes: big-endian, narrower stored types) ----

MI = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9, "i8": 12, "u8": 13}
MX = {"float64": 6, "float32": 7, "int8": 8, "uint8": 9, "int16": 10, "uint16": 11, "int32": 12,
      "uint32": 13, "int64": 14, "uint64": 15}


def element(e, mtype, payload, small_ok=True):
    """One data element in byte order e ('<' or '>'): the small form when it fits."""
    if small_ok and len(payload) <= 4:
        return struct.pack(e + "I", (len(payload) << 16) | mtype) + payload + b"\0" * (4 - len(payload))
    pad = (-len(payload)) % 8
    return struct.pack(e + "II", mtype, len(payload)) + payload + b"\0" * pad


def matrix(e, name, cls, stored, array):
    a = np.asarray(array)
    flags = struct.pack(e + "II", MX[cls], 0)
    body = element(e, 6, flags, small_ok=False)
    body += element(e, 5, struct.pack(e + "%di" % a.ndim, *a.shape), small_ok=False)
    body += element(e, 1, name.encode())
    data = np.asarray(a, dtype=np.dtype(stored).newbyteorder(e)).tobytes(order="F")
    body += element(e, MI[stored], data)
    return element(e, 14, body, small_ok=False)


def compressed(e, elem):
    z = zlib.compress(elem)
    return struct.pack(e + "II", 15, len(z)) + z


def mat_header(e):
    text = b"MATLAB 5.0 MAT-file, Platform: sdkd fixtures, written byte by byte"
    return text.ljust(116, b" ") + b"\0" * 8 + struct.pack(e + "H", 0x0100) + (b"IM" if e == "<" else b"MI")


def write_handmade(file, e, variables):
    """variables: (name, class, stored type, array, compress)"""
    body = mat_header(e)
    for name, cls, stored, array, zip_it in variables:
        m = matrix(e, name, cls, stored, array)
        body += compressed(e, m) if zip_it else m
    with open(os.path.join(OUT, file), "wb") as f:
        f.write(body)
    back = scipy.io.loadmat(os.path.join(OUT, file))
    for name, cls, stored, array, _ in variables:
        assert np.array_equal(back[name], np.asarray(array, dtype=cls)), (file, name)
        add_array(file, name, cls, np.asarray(array, dtype=cls))


def write_mat_handmade():
    write_handmade("mat5_be.mat", ">", [
        ("x", "float64", "f8", rng.normal(size=(3, 4)), False),
        ("y", "float64", "u1", rng.integers(0, 256, size=(2, 5)).astype(np.float64), False),
        ("z", "int32", "i2", rng.integers(-30000, 30000, size=(4, 1, 3)), False),
        ("s", "float32", "f4", np.array([[2.5]], dtype=np.float32), False),
        ("w", "float64", "i1", rng.integers(-128, 128, size=(3, 3, 2)).astype(np.float64), True),
    ])
    stored = []
    for i, (code, lo, hi) in enumerate([("i1", -128, 128), ("u1", 0, 256), ("i2", -2**15, 2**15),
                                        ("u2", 0, 2**16), ("i4", -2**31, 2**31), ("u4", 0, 2**32),
                                        ("i8", -2**40, 2**40), ("u8", 0, 2**40)]):
        vals = rng.integers(lo, hi, size=(2, 3), dtype=np.int64).astype(np.float64)
        stored.append((f"d_{code}", "float64", code, vals, i % 2 == 1))
    stored.append(("d_f4", "float64", "f4", rng.normal(size=(3, 2)).astype(np.float32).astype(np.float64), True))
    stored.append(("d_f8", "float64", "f8", rng.normal(size=(2, 2, 2)), False))
    write_handmade("mat5_stored.mat", "<", stored)


# ---- .npy ----

def extremes(code):
    dt = np.dtype(code)
    if dt.kind == "b":
        return (np.arange(24) % 3 == 0).reshape(3, 4, 2)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        # int64 extremes are not exact in float64; keep them within 2^53 so expected files are exact
        lo, hi = max(int(info.min), -2**53), min(int(info.max), 2**53)
        vals = np.linspace(lo, hi, 24).round().astype(object)
        vals[0], vals[-1] = lo, hi
        return np.array(vals, dtype=dt).reshape(3, 4, 2)
    v = rng.normal(size=24) * 100
    v[0], v[1] = np.finfo(dt).max, -np.finfo(dt).tiny
    return v.astype(dt).reshape(3, 4, 2)


def npy(file, array, dtype_name=None, **kw):
    path = os.path.join(OUT, file)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, **kw)
    back = np.load(path)
    assert np.array_equal(back, array, equal_nan=True) and back.dtype == array.dtype, file
    add_array(file, "-", dtype_name or np.dtype(array.dtype).name, array)


def write_npy():
    for code in ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"]:
        orders = ["|"] if np.dtype(code).itemsize == 1 else ["<", ">"]
        for o in orders:
            a = extremes(code).astype(np.dtype(code).newbyteorder(o if o != "|" else "="))
            tag = {"<": "le", ">": "be", "|": "byte"}[o]
            npy(f"npy_{code}_{tag}.npy", a)
    a = rng.normal(size=(3, 4)).astype("<f4")
    # '=' (native) cannot be written through numpy; patch the descr in place (same length)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=(1, 0))
    raw = buf.getvalue().replace(b"'<f4'", b"'=f4'", 1)
    with open(os.path.join(OUT, "npy_native_f4.npy"), "wb") as f:
        f.write(raw)
    add_array("npy_native_f4.npy", "-", "float32", a)
    npy("npy_v2_f4.npy", a, version=(2, 0))
    npy("npy_v3_f4.npy", a, version=(3, 0))
    npy("npy_fortran_f8.npy", np.asfortranarray(rng.normal(size=(3, 4, 5))))
    npy("npy_fortran_be_i2.npy", np.asfortranarray(rng.integers(-999, 999, size=(4, 3, 2)).astype(">i2")))
    special = np.array([0.0, -0.0, 6e-8, -6e-8, 1e-5, 65504, -65504, np.inf, -np.inf, np.nan, 1.0, 0.5],
                       dtype="<f2").reshape(3, 4)
    npy("npy_f2_special.npy", special)
    npy("npy_frames4.npy", rng.normal(size=(3, 5, 4, 4)).astype("<f4"))
    npy("npy_frames5.npy", rng.normal(size=(2, 5, 2, 4, 4)).astype("<f4"))
    bad = rng.normal(size=(2, 4, 3, 3)).astype("<f4")
    bad[1, 2, 0, 1] = np.nan
    np.save(os.path.join(OUT, "npy_nan.npy"), bad)
    np.save(os.path.join(OUT, "npy_c8.npy"), (rng.normal(size=(2, 3)) + 1j).astype("<c8"))
    add_skip("npy_c8.npy", "-", "complex")


TINY_PRESET = """{
  "name": "tiny",
  "about": "tests/tools/data_cli.sh: 2 -> 2 frame windows on the 12 x 12 fixture, one epoch",
  "window": {"input_frames": 2, "output_frames": 2, "stride": 2},
  "split_seed": 0,
  "model": {"name": "unet", "hidden": 4, "residual": true},
  "train": {"epochs": 1, "batch_size": 4, "lr": 3e-3, "seed": 0},
  "eval": {"batch_size": 8}
}
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):  # ours only: the h5_ files belong to make_hdf5_fixtures.py
        if f.startswith(("mat5_", "npy_")) or f in ("manifest.txt", "stats.txt", "tiny_preset.json"):
            os.remove(os.path.join(OUT, f))
    write_mat_plain()
    write_mat_zip()
    write_mat_handmade()
    write_npy()
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("# written by tests/data/make_fixtures.py: array FILE VAR DTYPE EXPECTED | skip FILE VAR WORD\n")
        f.write("\n".join(manifest) + "\n")
    with open(os.path.join(OUT, "stats.txt"), "w") as f:
        f.write("\n".join(stats) + "\n")
    with open(os.path.join(OUT, "tiny_preset.json"), "w") as f:
        f.write(TINY_PRESET)


if __name__ == "__main__":
    main()
