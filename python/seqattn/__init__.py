"""seqattn — Python binding (ctypes) of the seqattn C library.

    import numpy as np, seqattn

    g = seqattn.Graph()
    x = g.input("x", 1)
    h = g.gru(x, hidden=64, name="gru")
    c = g.attention_pool(h, score="additive")
    y = g.dense(c, 1)
    t = g.input("target", 1)
    L = g.mse(y, t)

    m = seqattn.Model(g, seed=7)
    opt = seqattn.Adam(m, lr=3e-3, clip_norm=1.0)
    m.forward(train=True, inputs={x: xs, t: ys})
    m.backward(L); opt.step(); m.zero_grad()
    alpha = m.attention(c)                    # (B, 1, 1, T)

The library is found next to this package, through SEQATTN_LIB, or on the
system library path (see seqattn._lib); it is loaded on first use. See
docs/python.md.
"""
from . import _lib
from ._lib import EXPECTED_MAJOR, LibraryError, load_library, library_path
from .errors import (BadNodeError, FileIOError, FormatError, InternalError, InvalidArgumentError,
                     NotFoundError, NumericError, OutOfMemoryError, SeqattnError, ShapeError,
                     SizeOverflowError, StateError, UnsupportedError)
from .graph import Graph, Node
from .model import LoadResult, Model
from .optim import SGD, Adam, Optimizer, clip_grad_norm
from .persist import has_persistence, load, load_checkpoint, save_checkpoint

__version__ = "0.1.0"


def version():
    """Version string of the loaded C library ("0.1.0")."""
    return _lib.decode(_lib.lib().sa_version_string())


def version_number():
    """MAJOR*10000 + MINOR*100 + PATCH of the loaded C library."""
    return _lib.lib().sa_version_number()


__all__ = [
    "Graph", "Node", "Model", "LoadResult", "Optimizer", "Adam", "SGD", "clip_grad_norm",
    "load", "save_checkpoint", "load_checkpoint", "has_persistence",
    "load_library", "library_path", "version", "version_number", "EXPECTED_MAJOR",
    "LibraryError", "SeqattnError", "InvalidArgumentError", "BadNodeError", "ShapeError",
    "SizeOverflowError", "OutOfMemoryError", "StateError", "NotFoundError", "NumericError",
    "UnsupportedError", "FileIOError", "FormatError", "InternalError",
]
