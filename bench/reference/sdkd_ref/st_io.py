"""A small safetensors reader (the format is in engine/include/sdkd/safetensors.hpp): an 8-byte
little-endian header length, a JSON header, then the raw little-endian C-order bytes. The
`safetensors` package is used when installed; this reader needs only numpy."""
import json
import struct

import numpy as np
import torch

_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
       "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def load(path):
    """-> (dict name -> torch.Tensor, metadata dict). Errors name the file and the tensor."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in _NP:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dt}, which this reader does not handle")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        arr = np.frombuffer(raw, dtype=_NP[dt], count=int(np.prod(shape, dtype=np.int64)), offset=base + begin)
        if arr.nbytes != end - begin:
            raise ValueError(f"{path}: tensor '{name}' of shape {shape} does not fill its {end - begin} bytes")
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out, meta


def sub(tensors, prefix):
    """The entries under `prefix`, with the prefix removed (e.g. sub(t, "w.") is a state_dict)."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(module, path):
    """Loads one of our checkpoints (engine/include/sdkd/checkpoint.hpp: the model's entries under
    their own names, optimizer moments under "optim.", distillation adapters under "kd.") into a
    reference module, with strict name and shape matching."""
    tensors, _ = load(path)
    state = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "kd."))}
    module.load_state_dict(state, strict=True)
    return module
