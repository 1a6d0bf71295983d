"""model.py — a graph with its parameters, gradients and activations (sa_model).

Memory and ownership
--------------------
* set_input() hands the library a pointer to the array's memory for the
  duration of the call; the library copies it. A float32 C-contiguous array
  is passed as is (no copy in Python); anything else is converted once.
* output(), grad(), lengths(), attention() return new arrays (copies).
* params(), param(), param_grads(), params_flat() return numpy *views* onto
  the model's own memory: writing into them changes the model (that is how
  weights are loaded), and they see every optimizer step. Each view holds a
  reference to the model's memory, so it stays valid as long as the view
  exists — even after Model.close() or after the Model object is gone; the C
  model is destroyed when the Model and all its views and optimizers are.
  Use state_dict() for a snapshot that does not change.
* A model is not thread-safe: use one model per thread.
"""
import collections
import ctypes as C
import operator
import os

import numpy as np

from . import _lib
from ._lib import c_node, f32p, i32p
from .errors import (BadNodeError, InvalidArgumentError, NotFoundError, NumericError,
                     ShapeError, StateError, UnsupportedError, make_error)
from .graph import Graph, Node, node_id

SA_INFER, SA_TRAIN = 0, 1
HEADS = {"all": 0, "mean": 1}

LoadResult = collections.namedtuple("LoadResult", "missing_keys unexpected_keys")


class _ModelHandle:
    """Owns the sa_model pointer and destroys it exactly once, when the last
    Python object needing it (Model, parameter view, optimizer) is gone."""

    __slots__ = ("ptr", "_destroy", "__weakref__")

    def __init__(self, ptr, destroy):
        self.ptr, self._destroy = ptr, destroy

    def __del__(self):
        if self.ptr:
            self._destroy(self.ptr)
            self.ptr = None


def check_model(lib, ptr, status):
    """Raises the exception of a non-OK status with the library's message:
    the thread's last error (set by the failing call), else the model's."""
    if status != 0:
        msg = _lib.decode(lib.sa_last_error())  # read first: valid until the next call
        if not msg and ptr:
            msg = _lib.decode(lib.sa_model_errmsg(ptr))
        raise make_error(status, msg)


def fs_path(path):
    """A path (str, bytes, os.PathLike) as bytes for the C API."""
    return os.fsencode(os.fspath(path))


def need(name):
    """Raises UnsupportedError when the loaded library lacks function `name`."""
    if not _lib.has(name):
        raise UnsupportedError(f"{name}: the loaded libseqattn ({_lib.library_path()}) does not have it; "
                               "it needs a build with the persistence API")


def _f32_array(a, what):
    """float32 C-contiguous array; no copy when a already is one."""
    try:
        arr = np.ascontiguousarray(_numpy(a), dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"{what}: cannot convert to a float32 array: {e}") from None
    return arr


def _numpy(a):
    """A numpy array (or array-like) from a, detaching torch tensors."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch.Tensor, without importing torch
        return a.detach().cpu().numpy()
    return a


def _view(ptr, numel, shape, keep):
    """A float32 numpy view of numel floats at ptr that keeps `keep` alive."""
    buf = (C.c_float * numel).from_address(C.cast(ptr, C.c_void_p).value)
    buf._seqattn_keep = keep  # the view's base chain ends at buf, which holds the model memory
    return np.frombuffer(buf, dtype=np.float32).reshape(shape)


class Model:
    """seqattn.Model(graph, seed=42): validates the graph (raising its first
    builder error) and allocates the parameters, initialised from the seed.

    Node arguments of every method accept a Node, an int id, or a node name
    (str, looked up with find_node()).
    """

    def __init__(self, graph, seed=42):
        if not isinstance(graph, Graph):
            raise TypeError(f"Model needs a seqattn.Graph, got {type(graph).__name__}")
        lib = _lib.lib()
        self._lib = lib
        opts = lib.sa_model_options_default()
        opts.seed = self.seed = self._check_seed(seed)
        out = C.c_void_p()
        gptr = graph._ptr
        status = lib.sa_model_create(gptr, C.byref(opts), C.byref(out))
        if status != 0:
            raise make_error(status, _lib.decode(lib.sa_last_error()))
        self._h = _ModelHandle(out.value, lib.sa_model_destroy)
        # F of every node, for Python-side checks and Node objects (the model
        # keeps its own copy of the graph; so does this table)
        self._features = [lib.sa_graph_node_features(gptr, i) for i in range(lib.sa_graph_node_count(gptr))]

    @staticmethod
    def _check_seed(seed):
        try:
            seed = operator.index(seed)
        except TypeError:
            raise TypeError(f"seed must be an int, got {type(seed).__name__}") from None
        if not 0 <= seed < 2**64:
            raise InvalidArgumentError(f"seed {seed} is outside 0..2^64-1")
        return seed

    @classmethod
    def _adopt(cls, ptr, seed, features):
        """A Model around a pointer made by the library (seqattn.load)."""
        self = cls.__new__(cls)
        self._lib = _lib.lib()
        self._h = _ModelHandle(ptr, self._lib.sa_model_destroy)
        self.seed = seed
        self._features = features
        return self

    # ------------------------------------------------------------ lifetime
    @property
    def _ptr(self):
        h = self._h
        if h is None:
            raise StateError("the model was closed")
        return h.ptr

    @property
    def closed(self):
        return self._h is None

    def close(self):
        """Releases the model. The C model is destroyed now unless parameter
        views or optimizers still refer to it (then when the last one goes)."""
        self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self._h is None:
            return "<seqattn.Model closed>"
        return (f"<seqattn.Model {len(self._features)} nodes, {self.param_count} parameter tensors, "
                f"{self.num_parameters} floats>")

    def _check(self, status):
        check_model(self._lib, self._h.ptr if self._h else None, status)

    # --------------------------------------------------------------- nodes
    def _nid(self, n):
        if isinstance(n, str):
            return self.find_node(n).id
        return node_id(n)

    def _node(self, i):
        return Node(i, self._features[i] if 0 <= i < len(self._features) else -1)

    @property
    def node_count(self):
        return len(self._features)

    def features(self, n):
        """Feature size F of a node (fixed by the graph)."""
        i = self._nid(n)
        if not 0 <= i < len(self._features):
            raise BadNodeError(f"node id {i} is not in this model ({len(self._features)} nodes)")
        return self._features[i]

    def find_node(self, name):
        """Any node by name, e.g. "blk.self_attn"; NotFoundError if none."""
        out = c_node()
        self._check(self._lib.sa_model_find_node(self._ptr, name.encode(), C.byref(out)))
        return self._node(out.value)

    def find_input(self, name):
        """An input node by name; NotFoundError if none."""
        out = c_node()
        self._check(self._lib.sa_model_find_input(self._ptr, name.encode(), C.byref(out)))
        return self._node(out.value)

    # -------------------------------------------------------------- running
    def set_input(self, node, data, lengths=None):
        """Sets an input for the next forward: data [B, T, F] (float32; passed
        without a copy when already float32 and C-contiguous), lengths None
        (all samples have T steps) or B ints in 1..T."""
        i = self._nid(node)
        arr = _f32_array(data, "set_input")
        if arr.ndim != 3:
            raise ShapeError(f"set_input: data must be [B, T, F], got shape {arr.shape}")
        B, T, F = arr.shape
        if 0 <= i < len(self._features) and self._features[i] >= 0 and F != self._features[i]:
            raise ShapeError(f"set_input: data has F={F}, node {i} has {self._features[i]} features")
        if B >= 2**31 or T >= 2**31:
            raise ShapeError(f"set_input: B={B}, T={T} are outside 1..2^24")
        lens_p = None
        if lengths is not None:
            la = np.asarray(_numpy(lengths))
            if la.shape != (B,):
                raise ShapeError(f"set_input: lengths must have shape ({B},), got {la.shape}")
            if la.size and not np.issubdtype(la.dtype, np.integer):
                if not (np.issubdtype(la.dtype, np.floating) and np.all(la == np.round(la))):
                    raise InvalidArgumentError(f"set_input: lengths must be integers, got {la.dtype}")
            if la.size and (la.min() < -2**31 or la.max() >= 2**31):
                raise ShapeError(f"set_input: a length is outside 1..T={T}")
            lens = np.ascontiguousarray(la, dtype=np.int32)
            lens_p = lens.ctypes.data_as(i32p)
        self._check(self._lib.sa_set_input(self._ptr, i, arr.ctypes.data_as(f32p), B, T, lens_p))

    def set_inputs(self, inputs):
        """set_input for each item of {node: data} or {node: (data, lengths)}."""
        for n, v in inputs.items():
            if isinstance(v, tuple):
                self.set_input(n, *v)
            else:
                self.set_input(n, v)

    def forward(self, train=False, inputs=None):
        """Runs the whole graph (train=True keeps what backward needs and
        applies dropout). inputs: optional {node: data or (data, lengths)}."""
        if inputs:
            self.set_inputs(inputs)
        self._check(self._lib.sa_forward(self._ptr, SA_TRAIN if train else SA_INFER))

    def backward(self, loss):
        """Back-propagates from a loss node (seed gradient 1). Parameter
        gradients accumulate until zero_grad()."""
        self._check(self._lib.sa_backward(self._ptr, self._nid(loss)))

    def backward_from(self, grads):
        """Back-propagates from your own output gradients: {node: array shaped
        like the node's output} (or a list of (node, array) pairs)."""
        items = list(grads.items()) if hasattr(grads, "items") else list(grads)
        if not items:
            raise InvalidArgumentError("backward_from: no gradients given")
        ids, arrays = [], []
        for n, g in items:
            i = self._nid(n)
            a = _f32_array(g, "backward_from")
            want = self.shape(i)
            if a.shape != want:
                raise ShapeError(f"backward_from: gradient for node {i} has shape {a.shape}, "
                                 f"the node's output is {want}")
            ids.append(i)
            arrays.append(a)  # kept alive across the call
        ptrs = (f32p * len(arrays))(*[a.ctypes.data_as(f32p) for a in arrays])
        self._check(self._lib.sa_backward_from(self._ptr, len(ids), (c_node * len(ids))(*ids), ptrs))

    def zero_grad(self):
        """Sets every parameter gradient to zero."""
        self._check(self._lib.sa_zero_grad(self._ptr))

    @property
    def train_index(self):
        """Number of training forwards run so far (drives dropout masks)."""
        v = C.c_uint64()
        self._check(self._lib.sa_model_get_train_index(self._ptr, C.byref(v)))
        return v.value

    @train_index.setter
    def train_index(self, index):
        self._check(self._lib.sa_model_set_train_index(self._ptr, operator.index(index)))

    # ------------------------------------------------------------- reading
    def shape(self, node):
        """(B, T, F) of a node's value after the last forward (or step)."""
        sh = (C.c_int32 * 3)()
        self._check(self._lib.sa_node_shape(self._ptr, self._nid(node), sh))
        return tuple(sh)

    def _copy(self, fn, node):
        i = self._nid(node)
        sh = (C.c_int32 * 3)()
        f = getattr(self._lib, fn)
        self._check(f(self._ptr, i, None, 0, sh))
        out = np.empty(tuple(sh), dtype=np.float32)
        self._check(f(self._ptr, i, out.ctypes.data_as(f32p), out.size, None))
        return out

    def output(self, node):
        """A copy of a node's value after the last forward: ndarray (B, T, F)."""
        return self._copy("sa_get_output", node)

    def grad(self, node):
        """A copy of d(loss)/d(node output) from the last backward (B, T, F);
        for an input node, the input gradient."""
        return self._copy("sa_get_grad", node)

    def lengths(self, node):
        """The per-sample lengths of a node's sequence (int32, shape (B,))."""
        i = self._nid(node)
        B = self.shape(i)[0]
        out = np.empty(B, dtype=np.int32)
        self._check(self._lib.sa_get_lengths(self._ptr, i, out.ctypes.data_as(i32p), B))
        return out

    def attention(self, node, heads="mean"):
        """A copy of the attention weights kept by an attention node:
        heads="all" -> (B, H, Tq, Tk); heads="mean" -> (B, 1, Tq, Tk).
        Attention pooling gives (B, 1, 1, T)."""
        if isinstance(heads, str):
            if heads not in HEADS:
                raise InvalidArgumentError(f"attention: heads must be 'mean' or 'all', got {heads!r}")
            mode = HEADS[heads]
        else:
            mode = int(heads)
        i = self._nid(node)
        sh = (C.c_int32 * 4)()
        self._check(self._lib.sa_get_attention(self._ptr, i, mode, None, 0, sh))
        out = np.empty(tuple(sh), dtype=np.float32)
        self._check(self._lib.sa_get_attention(self._ptr, i, mode, out.ctypes.data_as(f32p), out.size, None))
        return out

    # ------------------------------------------------------- step execution
    def step_begin(self, nodes):
        """Starts step execution: `nodes` (one or a list) are the stepped
        inputs; every node downstream of them runs one step per step()."""
        if isinstance(nodes, (Node, int, str)):
            nodes = [nodes]
        ids = [self._nid(n) for n in nodes]
        if not ids:
            raise InvalidArgumentError("step_begin: no stepped input given")
        self._check(self._lib.sa_step_begin(self._ptr, len(ids), (c_node * len(ids))(*ids)))

    def step(self, inputs=None):
        """Runs one step (stepped inputs set with T = 1). inputs: optional
        {node: data} set first."""
        if inputs:
            self.set_inputs(inputs)
        self._check(self._lib.sa_step(self._ptr))

    @property
    def step_position(self):
        """Number of steps since step_begin(), or None outside step execution."""
        p = self._lib.sa_step_position(self._ptr)
        return None if p < 0 else p

    # ----------------------------------------------------------- parameters
    @property
    def param_count(self):
        """Number of parameter tensors."""
        return self._lib.sa_param_count(self._ptr)

    def _infos(self):
        ptr = self._ptr
        for i in range(self._lib.sa_param_count(ptr)):
            info = _lib.ParamInfo()
            self._check(self._lib.sa_param_get(ptr, i, C.byref(info)))
            yield info

    def _find(self, name):
        info = _lib.ParamInfo()
        self._check(self._lib.sa_param_find(self._ptr, name.encode(), C.byref(info)))
        return info

    @staticmethod
    def _shape(info):
        return tuple(info.shape[k] for k in range(info.ndim))

    def param_names(self):
        return [_lib.decode(info.name) for info in self._infos()]

    def param_shapes(self):
        """{name: torch shape} of every parameter, in library order."""
        return {_lib.decode(info.name): self._shape(info) for info in self._infos()}

    def memory(self):
        """{kind: bytes} the model holds: params, inputs, values, grads,
        workspace, arena, step_state, scratch (see sa_memory_info in the C header)."""
        info = _lib.MemoryInfo(struct_size=C.sizeof(_lib.MemoryInfo))
        self._check(self._lib.sa_model_memory(self._ptr, C.byref(info)))
        return {name: getattr(info, name) for name, _ in _lib.MemoryInfo._fields_ if name != "struct_size"}

    def set_threads(self, n):
        """BLAS threads for this model's large products: 0 = OpenBLAS's current
        count (the default), n >= 1 = n. Small products always run on one
        thread. See sa_model_set_threads in the C header."""
        self._check(self._lib.sa_model_set_threads(self._ptr, int(n)))

    @property
    def num_parameters(self):
        """Total number of floats in all parameters."""
        return sum(info.numel for info in self._infos())

    def params(self):
        """{name: writable view} of every parameter (PyTorch names and shapes),
        in library order. Views share the model's memory (see module doc)."""
        return {_lib.decode(i.name): _view(i.value, i.numel, self._shape(i), self._h) for i in self._infos()}

    def param_grads(self):
        """{name: view} of every parameter gradient (accumulated until zero_grad())."""
        return {_lib.decode(i.name): _view(i.grad, i.numel, self._shape(i), self._h) for i in self._infos()}

    def param(self, name):
        """Writable view of one parameter; NotFoundError if no such name."""
        i = self._find(name)
        return _view(i.value, i.numel, self._shape(i), self._h)

    def param_grad(self, name):
        """View of one parameter's gradient."""
        i = self._find(name)
        return _view(i.grad, i.numel, self._shape(i), self._h)

    def params_flat(self):
        """(values, grads): all parameters and all gradients as two 1-D views,
        in library order."""
        v, g, n = f32p(), f32p(), C.c_size_t()
        self._check(self._lib.sa_params_flat(self._ptr, C.byref(v), C.byref(g), C.byref(n)))
        if n.value == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return _view(v, n.value, (n.value,), self._h), _view(g, n.value, (n.value,), self._h)

    def state_dict(self):
        """{name: copy} of every parameter: a snapshot, unlike params()."""
        return {name: v.copy() for name, v in self.params().items()}

    def load_state_dict(self, state, strict=True):
        """Copies arrays (numpy, torch tensors, lists) into the parameters of
        the same names. Every array is checked first (shape, finiteness), so
        a rejected call changes nothing.

        strict=True: the names must match exactly (NotFoundError otherwise).
        strict=False: names missing on either side are skipped.
        @return LoadResult(missing_keys, unexpected_keys).
        """
        params = self.params()
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
            if unexpected:
                parts.append(f"unexpected {', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}")
            raise NotFoundError(f"load_state_dict: parameter names differ: {'; '.join(parts)}")
        staged = []
        for name, value in state.items():
            if name not in params:
                continue
            a = np.asarray(_numpy(value))
            dst = params[name]
            if a.shape != dst.shape:
                raise ShapeError(f"load_state_dict: '{name}' has shape {a.shape}, the model's is {dst.shape}")
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise InvalidArgumentError(f"load_state_dict: '{name}' has dtype {a.dtype}")
            with np.errstate(over="ignore"):
                a = a.astype(np.float32)
            if not np.all(np.isfinite(a)):
                raise NumericError(f"load_state_dict: '{name}' has NaN or Inf values (as float32)")
            staged.append((dst, a))
        for dst, a in staged:
            dst[...] = a
        return LoadResult(missing, unexpected)

    # ---------------------------------------------------------- persistence
    def save_params(self, path):
        """Writes every parameter to a safetensors file (atomically).
        Needs the persistence API (UnsupportedError otherwise)."""
        need("sa_save_params")
        self._check(self._lib.sa_save_params(self._ptr, fs_path(path)))

    def load_params(self, path, strict=True):
        """Sets the parameters from a safetensors file (seqattn's, or torch's
        with keys named like the parameters; F64/F16/BF16 are converted).
        strict=True: exactly the model's parameters (NotFoundError otherwise);
        strict=False: missing ones keep their values, others are ignored.
        A failed load changes nothing."""
        need("sa_load_params")
        self._check(self._lib.sa_load_params(self._ptr, fs_path(path), 0 if strict else 1))

    def save(self, path):
        """Writes the whole model (graph, parameters, seed) for seqattn.load()."""
        need("sa_model_save")
        self._check(self._lib.sa_model_save(self._ptr, fs_path(path)))
