"""Every failure raises the SeqattnError subclass of its status, with the
library's message."""
import os
import subprocess
import sys

import numpy as np
import pytest

import seqattn
from seqattn import errors


def small_model():
    g = seqattn.Graph()
    x = g.input("x", 2)
    h = g.gru(x, hidden=3, name="gru")
    c = g.attention_pool(h)
    y = g.dense(c, 1)
    t = g.input("t", 1)
    L = g.mse(y, t)
    return seqattn.Model(g), x, t, h, c, y, L


def feed(m, x, t, B=2, T=4):
    m.set_input(x, np.ones((B, T, 2), np.float32))
    m.set_input(t, np.ones((B, 1, 1), np.float32))


def test_exception_classes_cover_every_status():
    for status, name in errors.STATUS_NAMES.items():
        if status == 0:
            continue
        cls = errors.error_class(status)
        assert cls is not seqattn.SeqattnError and issubclass(cls, seqattn.SeqattnError)
        e = errors.make_error(status, "boom")
        assert e.status == status and e.status_name == name and e.message == "boom"
        assert str(e) == f"{name}: boom"
        # the library names statuses the same way
        assert seqattn._lib.decode(seqattn._lib.lib().sa_status_str(status)) == name
    assert issubclass(seqattn.ShapeError, ValueError)
    assert issubclass(seqattn.NotFoundError, LookupError)
    assert issubclass(seqattn.FileIOError, OSError)
    unknown = errors.make_error(99, "x")
    assert type(unknown) is seqattn.SeqattnError and unknown.status == 99


def test_sticky_builder_error_surfaces_at_model_creation():
    g = seqattn.Graph()
    x = g.input("x", 2)
    bad = g.dense(x, 0)                    # units out of range: SA_ERR_SHAPE
    assert not bad.valid and bad.id == -1 and bad.features == -1 and "INVALID" in repr(bad)
    later = g.dense(g.gru(bad, hidden=4), 1)   # no-ops, still invalid
    assert not later.valid
    assert g.status == errors.SA_ERR_SHAPE and "sa_dense" in g.error
    with pytest.raises(seqattn.ShapeError) as ei:
        seqattn.Model(g)
    assert ei.value.status == errors.SA_ERR_SHAPE and ei.value.status_name == "SA_ERR_SHAPE"
    assert "sa_dense" in ei.value.message and "graph has an error" in ei.value.message
    with pytest.raises(seqattn.ShapeError):
        g.check()
    assert "error=" in repr(g)


def test_first_error_wins_and_eager_mode_raises_at_the_call():
    g = seqattn.Graph()
    x = g.input("x", 2)
    g.name(g.dense(x, 3), "bad name!")     # SA_ERR_INVALID_ARG first
    g.dense(x, -1)                         # a second, different error
    with pytest.raises(seqattn.InvalidArgumentError, match="sa_name"):
        seqattn.Model(g)
    e = seqattn.Graph(eager=True)
    x = e.input("x", 2)
    e.dense(x, 3, name="a")
    with pytest.raises(seqattn.InvalidArgumentError, match="a"):
        e.dense(x, 3, name="a")            # duplicate name
    with pytest.raises(seqattn.InvalidArgumentError):
        e.mha(x, num_heads=3, embed_dim=0)  # still the first error


def test_python_side_argument_checks():
    g = seqattn.Graph()
    x = g.input("x", 2)
    with pytest.raises(seqattn.InvalidArgumentError, match="activation"):
        g.act(x, "swish")
    with pytest.raises(seqattn.InvalidArgumentError, match="score"):
        g.attention_pool(x, score="dot")
    with pytest.raises(TypeError):
        g.dense(x, 2.5)
    with pytest.raises(TypeError):
        g.dense("x", 2)
    with pytest.raises(seqattn.ShapeError):
        g.dense(x, 2**40)                  # would wrap to a valid int32 in ctypes
    with pytest.raises(seqattn.BadNodeError):
        g.dense(2**33, 1)
    with pytest.raises(TypeError):
        seqattn.Model("not a graph")
    with pytest.raises(seqattn.InvalidArgumentError):
        seqattn.Model(g, seed=-1)


def test_empty_graph_is_invalid_argument():
    with pytest.raises(seqattn.InvalidArgumentError, match="empty"):
        seqattn.Model(seqattn.Graph())


def test_wrong_shapes():
    m, x, t, h, c, y, L = small_model()
    with pytest.raises(seqattn.ShapeError, match="F=3"):
        m.set_input(x, np.ones((2, 4, 3)))               # checked in Python: F is fixed
    with pytest.raises(seqattn.ShapeError, match=r"\[B, T, F\]"):
        m.set_input(x, np.ones((2, 4)))
    with pytest.raises(seqattn.ShapeError) as ei:
        m.set_input(x, np.ones((2, 4, 2)), lengths=[4, 5])  # library: length outside 1..T
    assert ei.value.message.startswith("sa_set_input")
    with pytest.raises(seqattn.ShapeError, match="lengths"):
        m.set_input(x, np.ones((2, 4, 2)), lengths=[4])
    with pytest.raises(seqattn.ShapeError):
        m.set_input(x, np.ones((0, 4, 2)))                 # B = 0
    m.set_input(x, np.ones((2, 4, 2)))
    m.set_input(t, np.ones((3, 1, 1)))
    with pytest.raises(seqattn.ShapeError, match="B="):
        m.forward()                                        # inputs disagree on B
    feed(m, x, t)
    m.forward(train=True)
    with pytest.raises(seqattn.ShapeError, match="not a scalar"):
        m.backward(y)
    with pytest.raises(seqattn.ShapeError, match="backward_from"):
        m.backward_from({y: np.ones((2, 1, 2))})


def test_non_finite_data():
    m, x, t, h, c, y, L = small_model()
    bad = np.ones((2, 4, 2), np.float32)
    bad[1, 2, 0] = np.inf
    with pytest.raises(seqattn.NumericError) as ei:
        m.set_input(x, bad)
    assert ei.value.status == errors.SA_ERR_NUMERIC and "sa_set_input" in ei.value.message
    feed(m, x, t)
    m.forward(train=True)
    with pytest.raises(seqattn.NumericError):
        m.backward_from({y: np.full((2, 1, 1), np.nan)})
    with pytest.raises(seqattn.NumericError):
        m.load_state_dict({"dense0.bias": [np.nan]}, strict=False)
    m.backward(L)
    m.param_grad("dense0.bias")[0] = np.nan
    before = m.state_dict()
    with pytest.raises(seqattn.NumericError):
        seqattn.Adam(m).step()
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)   # left unchanged
    with pytest.raises(seqattn.NumericError) as ei:
        seqattn.clip_grad_norm(m, 1.0)
    assert not np.isfinite(ei.value.norm)


def test_bad_nodes():
    m, x, t, h, c, y, L = small_model()
    feed(m, x, t)
    m.forward()
    with pytest.raises(seqattn.BadNodeError) as ei:
        m.output(999)
    assert "999" in ei.value.message
    with pytest.raises(seqattn.BadNodeError, match="keeps no attention"):
        m.attention(y)
    with pytest.raises(seqattn.BadNodeError):
        m.set_input(h, np.ones((2, 4, 3)))                 # not an input node
    with pytest.raises(seqattn.BadNodeError):
        m.step_begin([h])
    with pytest.raises(seqattn.BadNodeError):
        m.backward(-5)
    with pytest.raises(seqattn.BadNodeError):
        m.features(50)
    with pytest.raises(seqattn.InvalidArgumentError):
        m.attention(c, heads="max")


def test_call_order():
    m, x, t, h, c, y, L = small_model()
    with pytest.raises(seqattn.StateError, match="not set"):
        m.forward()
    with pytest.raises(seqattn.StateError):
        m.output(y)                                        # before any forward
    with pytest.raises(seqattn.StateError):
        m.backward(L)
    feed(m, x, t)
    m.forward(train=False)
    with pytest.raises(seqattn.StateError):
        m.backward(L)                                      # inference forward
    with pytest.raises(seqattn.StateError, match="no backward"):
        m.grad(x)
    m.forward(train=True)
    feed(m, x, t)
    with pytest.raises(seqattn.StateError):
        m.backward(L)                                      # inputs changed since
    with pytest.raises(seqattn.StateError):
        m.step()                                           # no step_begin


def test_not_found_and_unsupported():
    m, x, t, h, c, y, L = small_model()
    with pytest.raises(seqattn.NotFoundError) as ei:
        m.find_node("nope")
    assert isinstance(ei.value, LookupError) and "nope" in ei.value.message
    with pytest.raises(seqattn.NotFoundError):
        m.find_input("gru")                                # a node, not an input
    with pytest.raises(seqattn.NotFoundError):
        m.param("gru.weight_xx")
    with pytest.raises(seqattn.NotFoundError):
        m.output("nope")
    g = seqattn.Graph()
    xi = g.input("x", 2)
    g.gru(xi, hidden=2, bidirectional=True)
    m2 = seqattn.Model(g)
    with pytest.raises(seqattn.UnsupportedError, match="sa_step_begin"):
        m2.step_begin(xi)


def test_closed_objects_raise_state_error():
    m, x, t, h, c, y, L = small_model()
    opt = seqattn.SGD(m, lr=0.1)
    m.close()
    with pytest.raises(seqattn.StateError, match="closed"):
        m.forward()
    with pytest.raises(seqattn.StateError):
        opt.step()
    g = seqattn.Graph()
    g.close()
    with pytest.raises(seqattn.StateError):
        g.input("x", 1)


def test_invalid_optimizer_arguments():
    m, *_ = small_model()
    with pytest.raises(seqattn.InvalidArgumentError):
        seqattn.Adam(m, lr=-1.0)
    with pytest.raises(seqattn.InvalidArgumentError):
        seqattn.SGD(m, lr=0.1, momentum=1.5)
    opt = seqattn.Adam(m)
    with pytest.raises(seqattn.InvalidArgumentError):
        opt.lr = float("nan")
    with pytest.raises(seqattn.InvalidArgumentError):
        seqattn.clip_grad_norm(m, -1.0)


def _run(code, **env):
    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=60)


def test_library_not_found_is_a_clear_error(tmp_path):
    r = _run("import seqattn\ntry:\n    seqattn.Graph()\nexcept seqattn.LibraryError as e:\n    print('LE', e)\n",
             SEQATTN_LIB=str(tmp_path / "missing.so"))
    assert r.returncode == 0, r.stderr
    assert "LE SEQATTN_LIB" in r.stdout and "missing.so" in r.stdout


def test_major_version_mismatch_is_refused():
    code = ("import seqattn, seqattn._lib as L\nL.EXPECTED_MAJOR += 1\n"
            "try:\n    seqattn.load_library()\nexcept seqattn.LibraryError as e:\n    print('LE', e)\n")
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "LE" in r.stdout and "major" in r.stdout
