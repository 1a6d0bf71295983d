"""graph.py — the graph builder: architecture only, no numbers.

    g = seqattn.Graph()
    x = g.input("x", 1)
    h = g.gru(x, hidden=64, name="gru")
    c = g.attention_pool(h, score="additive")
    y = g.dense(c, 1)
    L = g.mse(y, g.input("target", 1))
    m = seqattn.Model(g)            # raises the first builder error, if any

Builder calls keep the C semantics ("sticky" errors): a call that fails
returns an invalid Node and records its error in the graph; later calls that
receive an invalid node do nothing. Model(g) (or g.check()) raises that first
error with the library's message. Graph(eager=True) raises at the failing
call instead.
"""
import ctypes as C
import operator

from . import _lib
from ._lib import SA_NODE_INVALID, SA_NODE_NONE, c_node
from .errors import BadNodeError, InvalidArgumentError, ShapeError, make_error

ACTIVATIONS = {"tanh": 0, "sigmoid": 1, "relu": 2, "gelu": 3}
SCORES = {"additive": 0, "tanh": 1, "linear": 2}


def _enum(value, table, what):
    if isinstance(value, str):
        try:
            return table[value.lower()]
        except KeyError:
            raise InvalidArgumentError(f"unknown {what} {value!r}; one of {', '.join(table)}") from None
    if isinstance(value, int) and value in table.values():
        return value
    raise InvalidArgumentError(f"unknown {what} {value!r}; one of {', '.join(table)}")


class Node:
    """A node of a graph: its id (an int, also via int(node)) and its feature size F.

    Nodes are valid in the graph that made them and in every model created
    from it. An invalid node (a failed builder call) has id -1 and features -1.
    """

    __slots__ = ("id", "features")

    def __init__(self, id, features):
        self.id = int(id)
        self.features = int(features)

    @property
    def valid(self):
        return self.id >= 0

    def __index__(self):
        return self.id

    def __int__(self):
        return self.id

    def __eq__(self, other):
        if isinstance(other, Node):
            return self.id == other.id
        return NotImplemented

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"Node({self.id}, features={self.features})" if self.valid else "Node(INVALID)"


def node_id(n, allow_none=False):
    """The int id of a Node or int (None -> SA_NODE_NONE when allowed)."""
    if n is None and allow_none:
        return SA_NODE_NONE
    if isinstance(n, Node):
        return n.id
    if isinstance(n, bool) or isinstance(n, (str, bytes)):
        raise TypeError(f"expected a seqattn Node (or int id), got {type(n).__name__}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"expected a seqattn Node (or int id), got {type(n).__name__}") from None
    if not -2**31 <= n < 2**31:
        raise BadNodeError(f"node id {n} is outside the int32 range")
    return n


class _GraphHandle:
    """Owns the sa_graph pointer; frees it exactly once."""

    __slots__ = ("ptr", "_free")

    def __init__(self, ptr, free):
        self.ptr, self._free = ptr, free

    def close(self):
        if self.ptr:
            self._free(self.ptr)
            self.ptr = None

    def __del__(self):
        self.close()


class Graph:
    """A graph under construction (sa_graph). Usable as a context manager;
    freeing it does not affect models created from it (they keep a copy)."""

    def __init__(self, eager=False):
        lib = _lib.lib()
        ptr = lib.sa_graph_new()
        if not ptr:
            raise make_error(5, "sa_graph_new: out of memory")
        self._h = _GraphHandle(ptr, lib.sa_graph_free)
        self._lib = lib
        self.eager = bool(eager)

    # ---------------------------------------------------------------- state
    @property
    def _ptr(self):
        if self._h.ptr is None:
            raise make_error(6, "the graph was closed")
        return self._h.ptr

    def close(self):
        """Frees the graph now (models made from it stay valid)."""
        self._h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def status(self):
        """SA_OK (0) or the status of the first failed builder call."""
        return self._lib.sa_graph_status(self._ptr)

    @property
    def error(self):
        """Message of the first builder failure ("" if none)."""
        return _lib.decode(self._lib.sa_graph_errmsg(self._ptr))

    def check(self):
        """Raises the first builder error (as Model(g) would); returns self."""
        s = self.status
        if s != 0:
            raise make_error(s, self.error)
        return self

    def __len__(self):
        return self._lib.sa_graph_node_count(self._ptr)

    @property
    def node_count(self):
        return len(self)

    def features(self, n):
        """Feature size F of a node (-1 for an invalid node)."""
        return self._lib.sa_graph_node_features(self._ptr, node_id(n))

    def node(self, i):
        """The Node with id i."""
        return Node(i, self.features(i))

    def __repr__(self):
        if self._h.ptr is None:
            return "<seqattn.Graph closed>"
        err = f", error={self.error!r}" if self.status else ""
        return f"<seqattn.Graph {len(self)} nodes{err}>"

    def _node(self, n, name=None):
        if name is not None and n >= 0:
            n = self._lib.sa_name(self._ptr, n, _bytes(name))
        if n < 0 and self.eager:
            self.check()
        return Node(n, self._lib.sa_graph_node_features(self._ptr, n) if n >= 0 else -1)

    # ---------------------------------------------------------------- nodes
    def name(self, n, name):
        """Renames a layer node ("gru" -> parameters "gru.*"); returns the node."""
        return self._node(self._lib.sa_name(self._ptr, node_id(n), _bytes(name)))

    def input(self, name, features):
        """An input sequence [B, T, features], set with Model.set_input()."""
        return self._node(self._lib.sa_input(self._ptr, _bytes(name), _i32(features, "features")))

    def dense(self, x, units, name=None):
        """y = x Wᵀ + b on the last axis (nn.Linear): [B, T, F] -> [B, T, units]."""
        return self._node(self._lib.sa_dense(self._ptr, node_id(x), _i32(units, "units")), name)

    def act(self, x, kind, name=None):
        """Element-wise activation: "tanh", "sigmoid", "relu" or "gelu"."""
        return self._node(self._lib.sa_act(self._ptr, node_id(x), _enum(kind, ACTIVATIONS, "activation")),
                          name)

    def tanh(self, x, name=None):
        return self.act(x, "tanh", name)

    def sigmoid(self, x, name=None):
        return self.act(x, "sigmoid", name)

    def relu(self, x, name=None):
        return self.act(x, "relu", name)

    def gelu(self, x, name=None):
        return self.act(x, "gelu", name)

    def layer_norm(self, x, eps=1e-5, name=None):
        """nn.LayerNorm over the last axis."""
        return self._node(self._lib.sa_layer_norm(self._ptr, node_id(x), float(eps)), name)

    def dropout(self, x, p, name=None):
        """Inverted dropout in training forwards; identity otherwise."""
        return self._node(self._lib.sa_dropout(self._ptr, node_id(x), float(p)), name)

    def posenc_sinusoidal(self, x, name=None):
        """Adds the fixed sinusoidal positional encoding."""
        return self._node(self._lib.sa_posenc_sinusoidal(self._ptr, node_id(x)), name)

    def posenc_learned(self, x, max_len, name=None):
        """Adds a learned positional embedding (parameter weight (max_len, F))."""
        return self._node(self._lib.sa_posenc_learned(self._ptr, node_id(x), _i32(max_len, "max_len")), name)

    def _rnn(self, fn, x, hidden, num_layers, bidirectional, return_sequences, initial_state,
             initial_cell, peephole, name):
        d = self._lib.sa_rnn_desc_default()
        d.hidden, d.num_layers = _i32(hidden, "hidden"), _i32(num_layers, "num_layers")
        d.bidirectional, d.return_sequences = int(bool(bidirectional)), int(bool(return_sequences))
        d.initial_state = node_id(initial_state, allow_none=True)
        d.initial_cell = node_id(initial_cell, allow_none=True)
        d.peephole = int(bool(peephole))
        return self._node(getattr(self._lib, fn)(self._ptr, node_id(x), C.byref(d)), name)

    def gru(self, x, hidden, num_layers=1, bidirectional=False, return_sequences=True,
            initial_state=None, name=None):
        """GRU (PyTorch numerics and parameter names). Output [B, T, D*H], or
        [B, 1, D*H] with return_sequences=False. initial_state: a node
        [B, 1, L*D*H] holding h0 in torch's (L*D, B, H) order per sample."""
        return self._rnn("sa_gru", x, hidden, num_layers, bidirectional, return_sequences,
                         initial_state, None, False, name)

    def lstm(self, x, hidden, num_layers=1, bidirectional=False, return_sequences=True,
             initial_state=None, initial_cell=None, peephole=False, name=None):
        """LSTM (PyTorch numerics, gates i, f, g, o); optional peepholes and c0."""
        return self._rnn("sa_lstm", x, hidden, num_layers, bidirectional, return_sequences,
                         initial_state, initial_cell, peephole, name)

    def final_state(self, rnn):
        """h_n of every layer and direction of an RNN node: [B, 1, L*D*H]."""
        return self._node(self._lib.sa_rnn_final_state(self._ptr, node_id(rnn)))

    def final_cell(self, rnn):
        """c_n of an LSTM node, laid out as final_state()."""
        return self._node(self._lib.sa_rnn_final_cell(self._ptr, node_id(rnn)))

    def attention_pool(self, h, score="additive", name=None):
        """SimpleAttention pooling over time: [B, T, F] -> [B, 1, F]; keeps α.
        score: "additive" (vᵀ tanh(W h + b)), "tanh" or "linear"."""
        return self._node(self._lib.sa_attention_pool(self._ptr, node_id(h), _enum(score, SCORES, "score")),
                          name)

    def mha(self, query, key=None, value=None, embed_dim=None, num_heads=1, causal=False, bias=True,
            name=None):
        """nn.MultiheadAttention (batch_first). key defaults to query and value
        to key (self-attention); embed_dim defaults to query's features."""
        key = query if key is None else key
        value = key if value is None else value
        if embed_dim is None:
            embed_dim = query.features if isinstance(query, Node) else self.features(query)
        d = self._lib.sa_mha_desc_default()
        d.embed_dim, d.num_heads = _i32(embed_dim, "embed_dim"), _i32(num_heads, "num_heads")
        d.causal, d.bias = int(bool(causal)), int(bool(bias))
        return self._node(self._lib.sa_mha(self._ptr, node_id(query), node_id(key), node_id(value),
                                           C.byref(d)), name)

    def sdpa(self, q, k=None, v=None, causal=False, name=None):
        """Scaled dot-product attention, one head, no projections; k defaults
        to q and v to k."""
        k = q if k is None else k
        v = k if v is None else v
        return self._node(self._lib.sa_sdpa(self._ptr, node_id(q), node_id(k), node_id(v),
                                            int(bool(causal))), name)

    def mean_time(self, x, name=None):
        """Mean over the valid steps: [B, T, F] -> [B, 1, F]."""
        return self._node(self._lib.sa_mean_time(self._ptr, node_id(x)), name)

    def last_step(self, x, name=None):
        """The last valid step of each sample: [B, T, F] -> [B, 1, F]."""
        return self._node(self._lib.sa_last_step(self._ptr, node_id(x)), name)

    def concat(self, *xs, name=None):
        """Concatenation on features: concat(a, b, c) or concat([a, b, c])."""
        if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
            xs = tuple(xs[0])
        ids = [node_id(x) for x in xs]
        arr = (c_node * max(len(ids), 1))(*ids)
        return self._node(self._lib.sa_concat(self._ptr, len(ids), arr), name)

    def slice_time(self, x, start, count, name=None):
        """Steps [start, start + count): [B, T, F] -> [B, count, F]."""
        return self._node(self._lib.sa_slice_time(self._ptr, node_id(x), _i32(start, "start"),
                                                   _i32(count, "count")), name)

    def slice_features(self, x, start, count, name=None):
        """Features [start, start + count): [B, T, F] -> [B, T, count]."""
        return self._node(self._lib.sa_slice_features(self._ptr, node_id(x), _i32(start, "start"),
                                                       _i32(count, "count")), name)

    def repeat_time(self, x, like, name=None):
        """x [B, 1, F] repeated over like's steps: [B, T, F] with like's lengths."""
        return self._node(self._lib.sa_repeat_time(self._ptr, node_id(x), node_id(like)), name)

    def add(self, a, b, name=None):
        """Element-wise sum of two values of the same shape."""
        return self._node(self._lib.sa_add(self._ptr, node_id(a), node_id(b)), name)

    def transformer_block(self, x, ff_dim, num_heads=1, causal=False, activation="relu", dropout=0.0,
                          norm_eps=1e-5, name=None):
        """Pre-norm nn.TransformerEncoderLayer(norm_first=True, batch_first=True).
        Sub-nodes are "<name>.norm1", "<name>.self_attn", ... (torch's
        state_dict names); name=None gives "transformer<k>"."""
        d = self._lib.sa_transformer_desc_default()
        d.num_heads, d.ff_dim = _i32(num_heads, "num_heads"), _i32(ff_dim, "ff_dim")
        d.causal = int(bool(causal))
        d.activation = _enum(activation, ACTIVATIONS, "activation")
        d.dropout, d.norm_eps = float(dropout), float(norm_eps)
        name_b = None if name is None else _bytes(name)
        d.name = name_b  # the library copies it during the call
        return self._node(self._lib.sa_transformer_block(self._ptr, node_id(x), C.byref(d)))

    def mse(self, pred, target, name=None):
        """Mean squared error over the valid elements: [1, 1, 1]."""
        return self._node(self._lib.sa_loss_mse(self._ptr, node_id(pred), node_id(target)), name)

    def mae(self, pred, target, name=None):
        """Mean absolute error over the valid elements: [1, 1, 1]."""
        return self._node(self._lib.sa_loss_mae(self._ptr, node_id(pred), node_id(target)), name)

    loss_mse = mse
    loss_mae = mae


def _i32(v, what):
    """An int argument for an int32_t parameter; ctypes would truncate silently."""
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(v).__name__}") from None
    if not -2**31 <= v < 2**31:
        raise ShapeError(f"{what} = {v} is outside the int32 range")
    return v


def _bytes(s):
    if isinstance(s, bytes):
        return s
    if not isinstance(s, str):
        raise TypeError(f"expected a str name, got {type(s).__name__}")
    return s.encode("utf-8")


__all__ = ["Graph", "Node", "SA_NODE_INVALID", "SA_NODE_NONE"]
