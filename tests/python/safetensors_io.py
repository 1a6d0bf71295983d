"""safetensors_io.py — a tiny safetensors writer and reader for the tests
(Debian's python3 has no `safetensors` package).

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
unsigned header length N, N bytes of UTF-8 JSON, then the raw tensor bytes.
The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
end]} (offsets relative to the start of the data block), plus an optional
"__metadata__" map of string to string. Data is little-endian and C-ordered.
The header is padded with spaces to a multiple of 8 bytes, as the reference
writer does.
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"),
           "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "U8": np.dtype("u1")}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _numpy(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(t)


def save_file(tensors, path, metadata=None):
    """Writes {name: array or torch tensor} to path. Tensors are written in
    name order (as the reference implementation sorts them by dtype then name;
    any order is valid)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = _numpy(tensors[name])
        dt = a.dtype.newbyteorder("<")  # no-op for single bytes
        if dt not in _NAMES:
            raise ValueError(f"{name}: dtype {a.dtype} not supported by this writer")
        raw = a.astype(dt, copy=False).tobytes(order="C")
        header[name] = {"dtype": _NAMES[dt], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load_file(path):
    """@return ({name: np.ndarray}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _DTYPES[info["dtype"]]
        out[name] = np.frombuffer(body[b:e], dtype=dt).reshape(info["shape"]).copy()
    return out, meta
