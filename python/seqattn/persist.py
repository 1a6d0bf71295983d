"""persist.py — files: parameters, whole models, training checkpoints.

Files are safetensors (an 8-byte little-endian header length, a JSON header,
the raw little-endian data) holding the parameters under their seqattn names
in PyTorch shapes, so a torch state_dict saved with safetensors loads when its
keys are prefixed by the node names, and seqattn's files load in torch. See
include/seqattn/seqattn.h ("persistence") and docs/python.md.

    m.save_params("w.safetensors");  m.load_params("w.safetensors", strict=True)
    m.save("model.safetensors");     m2 = seqattn.load("model.safetensors")
    seqattn.save_checkpoint(m, opt, "ckpt.safetensors")
    seqattn.load_checkpoint(m, opt, "ckpt.safetensors")

These need a libseqattn with the persistence API: has_persistence() says
whether the loaded one has it; without it the calls raise UnsupportedError.
Writes are atomic; a failed load leaves the model and optimizer unchanged.
"""
import ctypes as C
import json
import os
import struct

from . import _lib
from .errors import InvalidArgumentError, UnsupportedError, make_error
from .model import Model, check_model, fs_path, need
from .optim import Optimizer

NAMES = ("sa_save_params", "sa_load_params", "sa_model_save", "sa_model_load",
         "sa_checkpoint_save", "sa_checkpoint_load")


def has_persistence():
    """True when the loaded library exports every persistence function."""
    return all(_lib.has(n) for n in NAMES)


def load(path, seed=None):
    """A Model rebuilt from a file written by Model.save(): graph, parameters
    and seed. seed=None keeps the file's seed (same dropout masks)."""
    need("sa_model_load")
    lib = _lib.lib()
    opts = None
    if seed is not None:
        opts = lib.sa_model_options_default()
        opts.seed = Model._check_seed(seed)
    out = C.c_void_p()
    status = lib.sa_model_load(fs_path(path), C.byref(opts) if opts is not None else None, C.byref(out))
    if status != 0:
        raise make_error(status, _lib.decode(lib.sa_last_error()))
    m = Model._adopt(out.value, seed, None)  # owns the pointer from here on
    # F of every node, for set_input's check (the C API has no per-model
    # query): from the graph spec the library has just validated
    meta = read_metadata(path)
    nodes = spec_nodes(meta.get("seqattn.graph"))
    if nodes is None:
        m.close()
        raise UnsupportedError(f"load: cannot read the node sizes from the graph spec of {path}; "
                               "this Python package is older than the file format")
    for i, (name, _) in enumerate(nodes):  # the file may have been replaced since the library read it
        found = C.c_int32()
        if lib.sa_model_find_node(m._ptr, name.encode(), C.byref(found)) != 0 or found.value != i:
            m.close()
            raise make_error(11, f"load: {path} changed while it was being loaded")
    m._features = [f for _, f in nodes]
    if seed is None:
        m.seed = _u64(meta.get("seqattn.seed"))
    return m


def _pair(model, optimizer, what):
    if not isinstance(model, Model) or not isinstance(optimizer, Optimizer):
        raise TypeError(f"{what}(model, optimizer, path) needs a seqattn.Model and a seqattn optimizer")
    if optimizer.model is not model:
        raise InvalidArgumentError(f"{what}: the optimizer belongs to another model")


def save_checkpoint(model, optimizer, path):
    """Writes parameters, optimizer state (kind, lr, step count, moments),
    seed and train index; gradients are not saved."""
    need("sa_checkpoint_save")
    _pair(model, optimizer, "save_checkpoint")
    lib = _lib.lib()
    check_model(lib, model._ptr, lib.sa_checkpoint_save(model._ptr, optimizer._ptr, fs_path(path)))


def load_checkpoint(model, optimizer, path):
    """Resumes training from save_checkpoint(): parameters, seed, train index
    and the optimizer's settings and moments, so the run continues bitwise."""
    need("sa_checkpoint_load")
    _pair(model, optimizer, "load_checkpoint")
    lib = _lib.lib()
    check_model(lib, model._ptr, lib.sa_checkpoint_load(model._ptr, optimizer._ptr, fs_path(path)))
    # mirror what the library restored in the Python attributes (the C API
    # has no getters for them); the file was just validated by the library
    meta = read_metadata(path)
    model.seed = _u64(meta.get("seqattn.seed"), model.seed)
    settings = {k[len("seqattn.optim."):]: _float(v) for k, v in meta.items() if k.startswith("seqattn.optim.")}
    if settings.get("lr") is not None:
        optimizer._lr = settings["lr"]
    for attr in ("momentum", "eps", "weight_decay", "clip_norm"):
        if hasattr(optimizer, attr) and settings.get(attr) is not None:
            setattr(optimizer, attr, settings[attr])
    if hasattr(optimizer, "betas") and settings.get("beta1") is not None and settings.get("beta2") is not None:
        optimizer.betas = (settings["beta1"], settings["beta2"])


def _u64(text, default=None):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_metadata(path):
    """The "__metadata__" map of a safetensors file ({} if none). Only the
    header is read; raises FormatError for a file that is not safetensors."""
    with open(os.fspath(path), "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise make_error(11, f"read_metadata: {path}: shorter than a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000:
            raise make_error(11, f"read_metadata: {path}: header length {n} is too large")
        text = f.read(n)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise make_error(11, f"read_metadata: {path}: bad JSON header: {e}") from None
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return meta if isinstance(meta, dict) else {}


def spec_nodes(spec_text):
    """[(name, F)] of every node, in id order, from a graph spec (the JSON
    string under "seqattn.graph": {"format": "seqattn-graph", "version": 1,
    "nodes": [{"kind", "name", "F", ...}, ...]}), or None if it does not say."""
    try:
        spec = json.loads(spec_text) if isinstance(spec_text, str) else None
    except ValueError:
        return None
    nodes = spec.get("nodes") if isinstance(spec, dict) else None
    if not isinstance(nodes, list):
        return None
    out = []
    for nd in nodes:
        name, f = (nd.get("name"), nd.get("F")) if isinstance(nd, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(f, int) or isinstance(f, bool):
            return None
        out.append((name, f))
    return out


__all__ = ["has_persistence", "load", "save_checkpoint", "load_checkpoint", "read_metadata"]
