"""sa_ctypes.py — minimal ctypes binding of libseqattn for the parity tests.

Only what the tests use. Every struct mirrors include/seqattn/seqattn.h field by
field: ctypes cannot see the header, so a wrong layout would corrupt calls
silently. The option structs are checked against the library at load time (their
*_default() initialisers report sizeof in struct_size).

The library path comes from SEQATTN_LIB (meson sets it to the built .so), so the
tests never pick up an installed copy by accident.
"""
import ctypes as C
import os

import numpy as np

SA_NODE_INVALID = -1
SA_NODE_NONE = -2

# enums of the header (frozen values)
SA_ACT_TANH, SA_ACT_SIGMOID, SA_ACT_RELU, SA_ACT_GELU = 0, 1, 2, 3
SA_SCORE_ADDITIVE, SA_SCORE_TANH, SA_SCORE_LINEAR = 0, 1, 2
SA_INFER, SA_TRAIN = 0, 1
SA_HEADS_ALL, SA_HEADS_MEAN = 0, 1

c_node = C.c_int32
c_status = C.c_int  # sa_status is a C enum
f32p = C.POINTER(C.c_float)
i32p = C.POINTER(C.c_int32)


class SaRnnDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("hidden", C.c_int32), ("num_layers", C.c_int32),
                ("bidirectional", C.c_int32), ("return_sequences", C.c_int32),
                ("initial_state", c_node), ("initial_cell", c_node), ("peephole", C.c_int32)]


class SaMhaDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("embed_dim", C.c_int32), ("num_heads", C.c_int32),
                ("causal", C.c_int32), ("bias", C.c_int32)]


class SaTransformerDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("num_heads", C.c_int32), ("ff_dim", C.c_int32),
                ("causal", C.c_int32), ("activation", C.c_int), ("dropout", C.c_float),
                ("norm_eps", C.c_float), ("name", C.c_char_p)]


class SaParamInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("ndim", C.c_int32), ("shape", C.c_int32 * 4),
                ("numel", C.c_size_t), ("value", f32p), ("grad", f32p)]


class SaModelOptions(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("seed", C.c_uint64)]


# name: (restype, argtypes)
_PROTOS = {
    "sa_version_string": (C.c_char_p, []),
    "sa_status_str": (C.c_char_p, [c_status]),
    "sa_last_error": (C.c_char_p, []),
    "sa_graph_new": (C.c_void_p, []),
    "sa_graph_free": (None, [C.c_void_p]),
    "sa_graph_status": (c_status, [C.c_void_p]),
    "sa_graph_errmsg": (C.c_char_p, [C.c_void_p]),
    "sa_name": (c_node, [C.c_void_p, c_node, C.c_char_p]),
    "sa_input": (c_node, [C.c_void_p, C.c_char_p, C.c_int32]),
    "sa_dense": (c_node, [C.c_void_p, c_node, C.c_int32]),
    "sa_act": (c_node, [C.c_void_p, c_node, C.c_int]),
    "sa_rnn_desc_default": (SaRnnDesc, []),
    "sa_gru": (c_node, [C.c_void_p, c_node, C.POINTER(SaRnnDesc)]),
    "sa_rnn_final_state": (c_node, [C.c_void_p, c_node]),
    "sa_lstm": (c_node, [C.c_void_p, c_node, C.POINTER(SaRnnDesc)]),
    "sa_rnn_final_cell": (c_node, [C.c_void_p, c_node]),
    "sa_attention_pool": (c_node, [C.c_void_p, c_node, C.c_int]),
    "sa_mha_desc_default": (SaMhaDesc, []),
    "sa_mha": (c_node, [C.c_void_p, c_node, c_node, c_node, C.POINTER(SaMhaDesc)]),
    "sa_sdpa": (c_node, [C.c_void_p, c_node, c_node, c_node, C.c_int32]),
    "sa_layer_norm": (c_node, [C.c_void_p, c_node, C.c_float]),
    "sa_dropout": (c_node, [C.c_void_p, c_node, C.c_float]),
    "sa_posenc_sinusoidal": (c_node, [C.c_void_p, c_node]),
    "sa_posenc_learned": (c_node, [C.c_void_p, c_node, C.c_int32]),
    "sa_transformer_desc_default": (SaTransformerDesc, []),
    "sa_transformer_block": (c_node, [C.c_void_p, c_node, C.POINTER(SaTransformerDesc)]),
    "sa_mean_time": (c_node, [C.c_void_p, c_node]),
    "sa_last_step": (c_node, [C.c_void_p, c_node]),
    "sa_concat": (c_node, [C.c_void_p, C.c_int32, C.POINTER(c_node)]),
    "sa_loss_mse": (c_node, [C.c_void_p, c_node, c_node]),
    "sa_loss_mae": (c_node, [C.c_void_p, c_node, c_node]),
    "sa_model_options_default": (SaModelOptions, []),
    "sa_model_create": (c_status, [C.c_void_p, C.POINTER(SaModelOptions), C.POINTER(C.c_void_p)]),
    "sa_model_destroy": (None, [C.c_void_p]),
    "sa_set_input": (c_status, [C.c_void_p, c_node, f32p, C.c_int32, C.c_int32, i32p]),
    "sa_forward": (c_status, [C.c_void_p, C.c_int]),
    "sa_backward": (c_status, [C.c_void_p, c_node]),
    "sa_backward_from": (c_status, [C.c_void_p, C.c_int32, C.POINTER(c_node), C.POINTER(f32p)]),
    "sa_zero_grad": (c_status, [C.c_void_p]),
    "sa_get_output": (c_status, [C.c_void_p, c_node, f32p, C.c_size_t, i32p]),
    "sa_get_grad": (c_status, [C.c_void_p, c_node, f32p, C.c_size_t, i32p]),
    "sa_get_attention": (c_status, [C.c_void_p, c_node, C.c_int, f32p, C.c_size_t, i32p]),
    "sa_param_count": (C.c_int32, [C.c_void_p]),
    "sa_param_get": (c_status, [C.c_void_p, C.c_int32, C.POINTER(SaParamInfo)]),
    "sa_param_find": (c_status, [C.c_void_p, C.c_char_p, C.POINTER(SaParamInfo)]),
}


class SeqattnError(RuntimeError):
    pass


def _load():
    path = os.environ.get("SEQATTN_LIB")
    if not path:
        raise SeqattnError("SEQATTN_LIB is not set (meson sets it to the built libseqattn)")
    lib = C.CDLL(path)
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    # layout check: the library writes sizeof(struct) into struct_size
    for ctor, cls in (("sa_rnn_desc_default", SaRnnDesc), ("sa_model_options_default", SaModelOptions),
                      ("sa_mha_desc_default", SaMhaDesc),
                      ("sa_transformer_desc_default", SaTransformerDesc)):
        got = getattr(lib, ctor)().struct_size
        if got != C.sizeof(cls):
            raise SeqattnError(f"{cls.__name__}: library says {got} bytes, ctypes has {C.sizeof(cls)}")
    return lib


lib = _load()


def check(status, fn):
    """Raises on a non-zero sa_status, with the library's message."""
    if status != 0:
        msg = lib.sa_last_error().decode()  # read first: valid until the next call only
        raise SeqattnError(f"{fn}: {lib.sa_status_str(status).decode()}: {msg}")


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


class Graph:
    """Builder wrapper: every call raises at once instead of going sticky."""

    def __init__(self):
        self.g = lib.sa_graph_new()
        if not self.g:
            raise SeqattnError("sa_graph_new returned NULL")

    def _node(self, n, fn):
        if n < 0:
            raise SeqattnError(f"{fn}: {lib.sa_graph_errmsg(self.g).decode()}")
        return n

    def input(self, name, features):
        return self._node(lib.sa_input(self.g, name.encode(), features), "sa_input")

    def name(self, n, name):
        return self._node(lib.sa_name(self.g, n, name.encode()), "sa_name")

    def dense(self, x, units):
        return self._node(lib.sa_dense(self.g, x, units), "sa_dense")

    def act(self, x, kind):
        return self._node(lib.sa_act(self.g, x, kind), "sa_act")

    def gru(self, x, hidden, num_layers=1, bidirectional=False, return_sequences=True, h0=None):
        return self._rnn("sa_gru", x, hidden, num_layers, bidirectional, return_sequences, h0)

    def lstm(self, x, hidden, num_layers=1, bidirectional=False, return_sequences=True, h0=None, c0=None,
             peephole=False):
        return self._rnn("sa_lstm", x, hidden, num_layers, bidirectional, return_sequences, h0, c0, peephole)

    def _rnn(self, fn, x, hidden, num_layers, bidirectional, return_sequences, h0, c0=None, peephole=False):
        d = lib.sa_rnn_desc_default()
        d.hidden, d.num_layers = hidden, num_layers
        d.bidirectional, d.return_sequences = int(bidirectional), int(return_sequences)
        d.initial_state = SA_NODE_NONE if h0 is None else h0
        d.initial_cell = SA_NODE_NONE if c0 is None else c0
        d.peephole = int(peephole)
        return self._node(getattr(lib, fn)(self.g, x, C.byref(d)), fn)

    def final_state(self, rnn):
        return self._node(lib.sa_rnn_final_state(self.g, rnn), "sa_rnn_final_state")

    def final_cell(self, rnn):
        return self._node(lib.sa_rnn_final_cell(self.g, rnn), "sa_rnn_final_cell")

    def attention_pool(self, h, score):
        return self._node(lib.sa_attention_pool(self.g, h, score), "sa_attention_pool")

    def mha(self, q, k, v, embed_dim, num_heads=1, causal=False, bias=True):
        d = lib.sa_mha_desc_default()
        d.embed_dim, d.num_heads, d.causal, d.bias = embed_dim, num_heads, int(causal), int(bias)
        return self._node(lib.sa_mha(self.g, q, k, v, C.byref(d)), "sa_mha")

    def sdpa(self, q, k, v, causal=False):
        return self._node(lib.sa_sdpa(self.g, q, k, v, int(causal)), "sa_sdpa")

    def layer_norm(self, x, eps=1e-5):
        return self._node(lib.sa_layer_norm(self.g, x, eps), "sa_layer_norm")

    def dropout(self, x, p):
        return self._node(lib.sa_dropout(self.g, x, p), "sa_dropout")

    def posenc_sinusoidal(self, x):
        return self._node(lib.sa_posenc_sinusoidal(self.g, x), "sa_posenc_sinusoidal")

    def posenc_learned(self, x, max_len):
        return self._node(lib.sa_posenc_learned(self.g, x, max_len), "sa_posenc_learned")

    def transformer_block(self, x, ff_dim, num_heads=1, causal=False, activation=SA_ACT_RELU, dropout=0.0,
                          norm_eps=1e-5, name=None):
        d = lib.sa_transformer_desc_default()
        d.num_heads, d.ff_dim, d.causal, d.activation = num_heads, ff_dim, int(causal), activation
        d.dropout, d.norm_eps = dropout, norm_eps
        d.name = None if name is None else name.encode()  # d keeps the bytes alive; the library copies it
        return self._node(lib.sa_transformer_block(self.g, x, C.byref(d)), "sa_transformer_block")

    def mean_time(self, x):
        return self._node(lib.sa_mean_time(self.g, x), "sa_mean_time")

    def last_step(self, x):
        return self._node(lib.sa_last_step(self.g, x), "sa_last_step")

    def concat(self, xs):
        arr = (c_node * len(xs))(*xs)
        return self._node(lib.sa_concat(self.g, len(xs), arr), "sa_concat")

    def loss_mse(self, pred, target):
        return self._node(lib.sa_loss_mse(self.g, pred, target), "sa_loss_mse")

    def loss_mae(self, pred, target):
        return self._node(lib.sa_loss_mae(self.g, pred, target), "sa_loss_mae")

    def free(self):
        lib.sa_graph_free(self.g)
        self.g = None


class Model:
    """A model built from a Graph. Arrays returned by output()/grad() are copies;
    param() returns views into the model's memory (valid until close())."""

    def __init__(self, graph, seed=42):
        opts = lib.sa_model_options_default()
        opts.seed = seed
        self.m = C.c_void_p()
        check(lib.sa_model_create(graph.g, C.byref(opts), C.byref(self.m)), "sa_model_create")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        lib.sa_model_destroy(self.m)
        self.m = None

    def set_input(self, node, data, lengths=None):
        data = _f32(data)
        B, T = data.shape[0], data.shape[1]
        lens = None if lengths is None else np.ascontiguousarray(lengths, dtype=np.int32)
        check(lib.sa_set_input(self.m, node, data.ctypes.data_as(f32p), B, T,
                               None if lens is None else lens.ctypes.data_as(i32p)), "sa_set_input")

    def forward(self, train=True):
        check(lib.sa_forward(self.m, SA_TRAIN if train else SA_INFER), "sa_forward")

    def zero_grad(self):
        check(lib.sa_zero_grad(self.m), "sa_zero_grad")

    def backward(self, loss):
        check(lib.sa_backward(self.m, loss), "sa_backward")

    def backward_from(self, seeds):
        """seeds: {node: upstream gradient shaped like the node's output}."""
        nodes = list(seeds)
        grads = [_f32(seeds[n]) for n in nodes]  # kept alive across the call
        for n, g in zip(nodes, grads):
            if g.shape != self.shape(n):
                raise SeqattnError(f"backward_from: seed for node {n} is {g.shape}, node is {self.shape(n)}")
        arr = (f32p * len(grads))(*[g.ctypes.data_as(f32p) for g in grads])
        check(lib.sa_backward_from(self.m, len(nodes), (c_node * len(nodes))(*nodes), arr),
              "sa_backward_from")

    def shape(self, node):
        sh = (C.c_int32 * 3)()
        check(lib.sa_get_output(self.m, node, None, 0, sh), "sa_get_output")
        return tuple(sh)

    def _copy(self, fn, node):
        out = np.empty(self.shape(node), dtype=np.float32)
        check(getattr(lib, fn)(self.m, node, out.ctypes.data_as(f32p), out.size, None), fn)
        return out

    def output(self, node):
        return self._copy("sa_get_output", node)

    def grad(self, node):
        return self._copy("sa_get_grad", node)

    def attention(self, node, mode=SA_HEADS_ALL):
        sh = (C.c_int32 * 4)()
        check(lib.sa_get_attention(self.m, node, mode, None, 0, sh), "sa_get_attention")
        out = np.empty(tuple(sh), dtype=np.float32)
        check(lib.sa_get_attention(self.m, node, mode, out.ctypes.data_as(f32p), out.size, None),
              "sa_get_attention")
        return out

    @staticmethod
    def _views(info):
        shape = tuple(info.shape[: info.ndim])
        val = np.ctypeslib.as_array(info.value, shape=(info.numel,)).reshape(shape)
        grad = np.ctypeslib.as_array(info.grad, shape=(info.numel,)).reshape(shape)
        return info.name.decode(), val, grad

    def param(self, name):
        """(value, grad) views of a parameter; value is writable."""
        info = SaParamInfo()
        check(lib.sa_param_find(self.m, name.encode(), C.byref(info)), "sa_param_find")
        return self._views(info)[1:]

    def param_names(self):
        names = []
        for i in range(lib.sa_param_count(self.m)):
            info = SaParamInfo()
            check(lib.sa_param_get(self.m, i, C.byref(info)), "sa_param_get")
            names.append(self._views(info)[0])
        return names
