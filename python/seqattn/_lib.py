"""_lib.py — finding, loading and describing libseqattn for ctypes.

ctypes cannot read the C header, so every prototype and struct below mirrors
include/seqattn/seqattn.h by hand. The option structs are checked against the
library when it is loaded (their *_default() initialisers report sizeof in
struct_size), and the library's major version must be the one this package
was written for; either mismatch raises LibraryError instead of corrupting
calls silently.

Where the library is looked up, first match wins:
  1. next to this file: seqattn/libseqattn.so.<major>, seqattn/libseqattn.so,
     then any seqattn/libseqattn.so.<major>.* (a copy placed in the package);
  2. the environment variable SEQATTN_LIB, a full path to the file;
  3. the system library path: libseqattn.so.<major> through the dynamic loader
     (LD_LIBRARY_PATH, ld.so cache), then ctypes.util.find_library('seqattn').
The library is loaded on first use, once per process; load_library(path)
loads a given file explicitly (before any other use).
"""
import ctypes as C
import ctypes.util
import glob
import os
import threading

#: Major version of the C API this package is written for (SA_VERSION_MAJOR).
EXPECTED_MAJOR = 0

SA_NODE_INVALID = -1
SA_NODE_NONE = -2

c_node = C.c_int32
c_status = C.c_int  # sa_status is a C enum
f32p = C.POINTER(C.c_float)
i32p = C.POINTER(C.c_int32)


class LibraryError(ImportError):
    """libseqattn could not be found or loaded, or is not a compatible version."""


# --------------------------------------------------------------- structs

class RnnDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("hidden", C.c_int32), ("num_layers", C.c_int32),
                ("bidirectional", C.c_int32), ("return_sequences", C.c_int32),
                ("initial_state", c_node), ("initial_cell", c_node), ("peephole", C.c_int32)]


class MhaDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("embed_dim", C.c_int32), ("num_heads", C.c_int32),
                ("causal", C.c_int32), ("bias", C.c_int32)]


class TransformerDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("num_heads", C.c_int32), ("ff_dim", C.c_int32),
                ("causal", C.c_int32), ("activation", C.c_int), ("dropout", C.c_float),
                ("norm_eps", C.c_float), ("name", C.c_char_p)]


class ModelOptions(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("seed", C.c_uint64)]


class ParamInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("ndim", C.c_int32), ("shape", C.c_int32 * 4),
                ("numel", C.c_size_t), ("value", f32p), ("grad", f32p)]


class MemoryInfo(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("params", C.c_size_t), ("inputs", C.c_size_t),
                ("values", C.c_size_t), ("grads", C.c_size_t), ("workspace", C.c_size_t),
                ("arena", C.c_size_t), ("step_state", C.c_size_t), ("scratch", C.c_size_t)]


class OptimDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("kind", C.c_int), ("lr", C.c_float),
                ("momentum", C.c_float), ("beta1", C.c_float), ("beta2", C.c_float),
                ("eps", C.c_float), ("weight_decay", C.c_float), ("clip_norm", C.c_float)]


# struct -> its *_default() initialiser, for the layout check at load time
_STRUCT_DEFAULTS = {
    "sa_rnn_desc_default": RnnDesc,
    "sa_mha_desc_default": MhaDesc,
    "sa_transformer_desc_default": TransformerDesc,
    "sa_model_options_default": ModelOptions,
    "sa_optim_desc_default": OptimDesc,
}

_G = C.c_void_p  # sa_graph *
_M = C.c_void_p  # sa_model *
_O = C.c_void_p  # sa_optim *

# name: (restype, argtypes); every one of these must exist in the library
_PROTOS = {
    # version, status
    "sa_version_number": (C.c_uint, []),
    "sa_version_string": (C.c_char_p, []),
    "sa_status_str": (C.c_char_p, [c_status]),
    "sa_last_error": (C.c_char_p, []),
    # graph
    "sa_graph_new": (_G, []),
    "sa_graph_free": (None, [_G]),
    "sa_graph_status": (c_status, [_G]),
    "sa_graph_errmsg": (C.c_char_p, [_G]),
    "sa_graph_node_count": (C.c_int32, [_G]),
    "sa_graph_node_features": (C.c_int32, [_G, c_node]),
    "sa_name": (c_node, [_G, c_node, C.c_char_p]),
    "sa_input": (c_node, [_G, C.c_char_p, C.c_int32]),
    "sa_dense": (c_node, [_G, c_node, C.c_int32]),
    "sa_act": (c_node, [_G, c_node, C.c_int]),
    "sa_layer_norm": (c_node, [_G, c_node, C.c_float]),
    "sa_dropout": (c_node, [_G, c_node, C.c_float]),
    "sa_posenc_sinusoidal": (c_node, [_G, c_node]),
    "sa_posenc_learned": (c_node, [_G, c_node, C.c_int32]),
    "sa_rnn_desc_default": (RnnDesc, []),
    "sa_gru": (c_node, [_G, c_node, C.POINTER(RnnDesc)]),
    "sa_lstm": (c_node, [_G, c_node, C.POINTER(RnnDesc)]),
    "sa_rnn_final_state": (c_node, [_G, c_node]),
    "sa_rnn_final_cell": (c_node, [_G, c_node]),
    "sa_attention_pool": (c_node, [_G, c_node, C.c_int]),
    "sa_mean_time": (c_node, [_G, c_node]),
    "sa_last_step": (c_node, [_G, c_node]),
    "sa_concat": (c_node, [_G, C.c_int32, C.POINTER(c_node)]),
    "sa_mha_desc_default": (MhaDesc, []),
    "sa_mha": (c_node, [_G, c_node, c_node, c_node, C.POINTER(MhaDesc)]),
    "sa_sdpa": (c_node, [_G, c_node, c_node, c_node, C.c_int32]),
    "sa_slice_time": (c_node, [_G, c_node, C.c_int32, C.c_int32]),
    "sa_slice_features": (c_node, [_G, c_node, C.c_int32, C.c_int32]),
    "sa_repeat_time": (c_node, [_G, c_node, c_node]),
    "sa_add": (c_node, [_G, c_node, c_node]),
    "sa_transformer_desc_default": (TransformerDesc, []),
    "sa_transformer_block": (c_node, [_G, c_node, C.POINTER(TransformerDesc)]),
    "sa_loss_mse": (c_node, [_G, c_node, c_node]),
    "sa_loss_mae": (c_node, [_G, c_node, c_node]),
    # model
    "sa_model_options_default": (ModelOptions, []),
    "sa_model_create": (c_status, [_G, C.POINTER(ModelOptions), C.POINTER(_M)]),
    "sa_model_destroy": (None, [_M]),
    "sa_model_errmsg": (C.c_char_p, [_M]),
    "sa_model_find_input": (c_status, [_M, C.c_char_p, C.POINTER(c_node)]),
    "sa_model_find_node": (c_status, [_M, C.c_char_p, C.POINTER(c_node)]),
    "sa_set_input": (c_status, [_M, c_node, f32p, C.c_int32, C.c_int32, i32p]),
    "sa_forward": (c_status, [_M, C.c_int]),
    "sa_model_get_train_index": (c_status, [_M, C.POINTER(C.c_uint64)]),
    "sa_model_set_train_index": (c_status, [_M, C.c_uint64]),
    "sa_backward": (c_status, [_M, c_node]),
    "sa_backward_from": (c_status, [_M, C.c_int32, C.POINTER(c_node), C.POINTER(f32p)]),
    "sa_zero_grad": (c_status, [_M]),
    "sa_node_shape": (c_status, [_M, c_node, i32p]),
    "sa_get_output": (c_status, [_M, c_node, f32p, C.c_size_t, i32p]),
    "sa_get_grad": (c_status, [_M, c_node, f32p, C.c_size_t, i32p]),
    "sa_get_lengths": (c_status, [_M, c_node, i32p, C.c_size_t]),
    "sa_get_attention": (c_status, [_M, c_node, C.c_int, f32p, C.c_size_t, i32p]),
    # step execution
    "sa_step_begin": (c_status, [_M, C.c_int32, C.POINTER(c_node)]),
    "sa_step": (c_status, [_M]),
    "sa_step_position": (C.c_int32, [_M]),
    # parameters
    "sa_param_count": (C.c_int32, [_M]),
    "sa_param_get": (c_status, [_M, C.c_int32, C.POINTER(ParamInfo)]),
    "sa_param_find": (c_status, [_M, C.c_char_p, C.POINTER(ParamInfo)]),
    "sa_params_flat": (c_status, [_M, C.POINTER(f32p), C.POINTER(f32p), C.POINTER(C.c_size_t)]),
    "sa_model_memory": (c_status, [_M, C.POINTER(MemoryInfo)]),
    "sa_model_set_threads": (c_status, [_M, C.c_int]),
    # training
    "sa_optim_desc_default": (OptimDesc, []),
    "sa_optim_create": (c_status, [_M, C.POINTER(OptimDesc), C.POINTER(_O)]),
    "sa_optim_destroy": (None, [_O]),
    "sa_optim_step": (c_status, [_O]),
    "sa_optim_set_lr": (c_status, [_O, C.c_float]),
    "sa_clip_grad_norm": (c_status, [_M, C.c_float, C.POINTER(C.c_float)]),
}

# Persistence (include/seqattn/seqattn.h, "persistence" section). Bound only
# when the loaded library exports them: has_persistence() tells, and the
# Python methods that need them raise UnsupportedError otherwise.
_OPTIONAL_PROTOS = {
    "sa_save_params": (c_status, [_M, C.c_char_p]),
    "sa_load_params": (c_status, [_M, C.c_char_p, C.c_int]),
    "sa_model_save": (c_status, [_M, C.c_char_p]),
    "sa_model_load": (c_status, [C.c_char_p, C.POINTER(ModelOptions), C.POINTER(_M)]),
    "sa_checkpoint_save": (c_status, [_M, _O, C.c_char_p]),
    "sa_checkpoint_load": (c_status, [_M, _O, C.c_char_p]),
}

_lock = threading.Lock()
_lib = None
_path = None


def _candidates():
    """Yields (label, path-or-name) in lookup order."""
    here = os.path.dirname(os.path.abspath(__file__))
    seen = set()
    local = [os.path.join(here, f"libseqattn.so.{EXPECTED_MAJOR}"), os.path.join(here, "libseqattn.so")]
    local += sorted(glob.glob(os.path.join(here, f"libseqattn.so.{EXPECTED_MAJOR}.*")))
    local += [os.path.join(here, "libseqattn.dylib"), os.path.join(here, "seqattn.dll")]
    for p in local:
        if p not in seen and os.path.isfile(p):
            seen.add(p)
            yield "next to the package", p
    if not seen:
        yield "next to the package", None  # reported as tried
    env = os.environ.get("SEQATTN_LIB")
    if env:
        yield "SEQATTN_LIB", env
    yield "system library path", f"libseqattn.so.{EXPECTED_MAJOR}"
    found = ctypes.util.find_library("seqattn")
    if found:
        yield "ctypes.util.find_library", found


def _bind(lib, path):
    missing = [n for n in _PROTOS if not hasattr(lib, n)]
    if missing:
        raise LibraryError(f"{path} is not a compatible libseqattn: missing {', '.join(missing[:5])}")
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    for name, (res, args) in _OPTIONAL_PROTOS.items():
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
    version = lib.sa_version_number()
    major = version // 10000
    if major != EXPECTED_MAJOR:
        raise LibraryError(
            f"{path} is libseqattn {lib.sa_version_string().decode()} (major {major}); this Python "
            f"package needs major version {EXPECTED_MAJOR}. Point SEQATTN_LIB at a matching build.")
    for ctor, cls in _STRUCT_DEFAULTS.items():
        got = getattr(lib, ctor)().struct_size
        if got != C.sizeof(cls):
            raise LibraryError(f"{path}: struct {cls.__name__} is {got} bytes in the library, "
                               f"{C.sizeof(cls)} in the Python binding: layouts disagree")


def load_library(path=None):
    """Loads libseqattn (once per process) and returns the ctypes.CDLL.

    With path, loads that file; otherwise searches as described in the module
    docstring. Raises LibraryError when nothing suitable is found, with every
    place tried. Calling it again returns the library already loaded (a
    different path then is an error: one process, one library).
    """
    global _lib, _path
    with _lock:
        if _lib is not None:
            if path is not None and os.path.realpath(os.fspath(path)) != os.path.realpath(_path):
                raise LibraryError(f"libseqattn is already loaded from {_path}; cannot switch to {path}")
            return _lib
        tried = []
        candidates = [("load_library(path)", os.fspath(path))] if path is not None else list(_candidates())
        for label, p in candidates:
            if p is None:
                tried.append(f"{label}: no libseqattn.so* in {os.path.dirname(os.path.abspath(__file__))}")
                continue
            explicit = label == "SEQATTN_LIB" or (label == "load_library(path)" and os.sep in p)
            if explicit and not os.path.isfile(p):
                # an explicit choice that does not exist is an error, not a reason to look elsewhere
                raise LibraryError(f"{label} is {p!r}, which is not a file")
            try:
                lib = C.CDLL(p)
            except OSError as e:
                tried.append(f"{label}: {p} ({e})")
                continue
            _bind(lib, p)  # a library that loads but does not fit is an error too
            _lib = lib
            _path = getattr(lib, "_name", p)
            return _lib
        raise LibraryError("libseqattn not found. Tried:\n  " + "\n  ".join(tried) +
                           "\nBuild it (meson setup build && ninja -C build) and set SEQATTN_LIB to "
                           "build/lib/libseqattn.so, install it, or copy it next to the package.")


def lib():
    """The loaded library (loading it on first use)."""
    return _lib if _lib is not None else load_library()


def library_path():
    """Path (or loader name) of the loaded library, loading it if needed."""
    lib()
    if _path and os.path.sep not in _path:
        # a loader name ("libseqattn.so.0"): report the file the dynamic loader mapped
        try:
            with open("/proc/self/maps") as f:
                for line in f:
                    mapped = line.split(None, 5)[-1].strip() if len(line.split(None, 5)) == 6 else ""
                    if os.path.basename(mapped).startswith("libseqattn.so"):
                        return mapped
        except OSError:
            pass
    return _path


def has(name):
    """True when the loaded library exports the function `name`."""
    return hasattr(lib(), name)


def decode(b):
    return b.decode("utf-8", "replace") if b is not None else ""

