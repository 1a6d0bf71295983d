"""Parameter views: write-through, lifetime, flat vectors, state dicts."""
import gc
import weakref

import numpy as np
import pytest

import seqattn


def dense_model(F=3, units=2, seed=42):
    g = seqattn.Graph()
    x = g.input("x", F)
    y = g.dense(x, units, name="lin")
    return seqattn.Model(g, seed=seed), x, y


def test_views_write_through_to_the_model(rng):
    m, x, y = dense_model()
    p = m.params()
    assert list(p) == ["lin.weight", "lin.bias"]
    assert p["lin.weight"].shape == (2, 3) and p["lin.weight"].dtype == np.float32
    assert p["lin.weight"].flags.writeable
    p["lin.weight"][...] = 0
    p["lin.bias"][:] = [0.5, -1.5]
    m.forward(inputs={x: rng.standard_normal((2, 4, 3))})
    out = m.output(y)
    assert np.all(out[..., 0] == 0.5) and np.all(out[..., 1] == -1.5)
    # a second view sees the first view's write; views share memory
    assert np.shares_memory(m.param("lin.bias"), p["lin.bias"])
    np.testing.assert_array_equal(m.param("lin.bias"), [0.5, -1.5])


def test_views_see_optimizer_steps_and_state_dict_is_a_snapshot(rng):
    m, x, y = dense_model()
    w = m.param("lin.weight")
    snap = m.state_dict()
    m.forward(train=True, inputs={x: rng.standard_normal((2, 4, 3))})
    m.backward_from({y: np.ones((2, 4, 2))})
    seqattn.SGD(m, lr=0.1).step()
    np.testing.assert_allclose(w, snap["lin.weight"] - 0.1 * m.param_grad("lin.weight"), rtol=1e-6)
    assert not np.array_equal(w, snap["lin.weight"])


def test_flat_vectors_are_the_parameters_in_order():
    m, x, y = dense_model(F=4, units=3)
    values, grads = m.params_flat()
    assert values.shape == grads.shape == (m.num_parameters,) == (15,)
    np.testing.assert_array_equal(values, np.concatenate([v.ravel() for v in m.params().values()]))
    values[:] = np.arange(15, dtype=np.float32)
    np.testing.assert_array_equal(m.param("lin.bias"), [12, 13, 14])


def test_views_keep_the_model_memory_alive_after_close():
    m, x, y = dense_model()
    handle = weakref.ref(m._h)
    w = m.param("lin.weight")
    grads = m.param_grads()
    expected = w.copy()
    m.close()
    del m
    gc.collect()
    assert handle() is not None                 # still owned by the views
    np.testing.assert_array_equal(w, expected)  # readable, not freed memory
    w[0, 0] = 3.0
    del w, grads
    gc.collect()
    assert handle() is None                     # the last view gone: destroyed


def test_close_destroys_at_once_without_views():
    m, x, y = dense_model()
    handle = weakref.ref(m._h)
    m.close()
    assert handle() is None


def test_optimizer_keeps_the_model_alive():
    m, x, y = dense_model()
    handle = weakref.ref(m._h)
    opt = seqattn.Adam(m)
    del m
    gc.collect()
    assert handle() is not None
    del opt
    gc.collect()
    assert handle() is None


def test_load_state_dict_copies_and_checks(rng):
    a, xa, ya = dense_model(seed=1)
    b, xb, yb = dense_model(seed=2)
    xs = rng.standard_normal((2, 5, 3)).astype(np.float32)
    a.forward(inputs={xa: xs})
    b.forward(inputs={xb: xs})
    assert not np.allclose(a.output(ya), b.output(yb))
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    b.forward()
    np.testing.assert_array_equal(a.output(ya), b.output(yb))
    # float64 and lists are converted
    b.load_state_dict({"lin.weight": np.ones((2, 3)), "lin.bias": [1, 2]})
    np.testing.assert_array_equal(b.param("lin.bias"), [1, 2])

    before = b.state_dict()
    with pytest.raises(seqattn.ShapeError, match="lin.weight"):
        b.load_state_dict({"lin.bias": [7, 7], "lin.weight": np.ones((3, 2))})
    np.testing.assert_array_equal(b.param("lin.bias"), before["lin.bias"])  # all or nothing
    with pytest.raises(seqattn.NotFoundError, match="missing lin.weight"):
        b.load_state_dict({"lin.bias": [7, 7]})
    with pytest.raises(seqattn.NotFoundError, match="unexpected other"):
        b.load_state_dict(dict(before, other=np.ones(1)))
    res = b.load_state_dict({"lin.bias": [7, 7], "other": [1]}, strict=False)
    assert res.missing_keys == ["lin.weight"] and res.unexpected_keys == ["other"]
    np.testing.assert_array_equal(b.param("lin.bias"), [7, 7])
    with pytest.raises(seqattn.NumericError):
        b.load_state_dict({"lin.bias": [1e39, 0]}, strict=False)   # inf as float32
    with pytest.raises(seqattn.InvalidArgumentError):
        b.load_state_dict({"lin.bias": np.array(["a", "b"])}, strict=False)


def test_memory_reports_parameters_and_training_buffers(rng):
    g = seqattn.Graph()
    x = g.input("x", 3)
    y = g.dense(g.gru(x, hidden=8, name="gru"), 1)
    m = seqattn.Model(g, seed=1)
    fresh = m.memory()
    assert fresh["params"] == 2 * 4 * m.num_parameters
    assert fresh["values"] == fresh["grads"] == fresh["arena"] == 0
    m.set_input(x, rng.standard_normal((2, 5, 3)).astype(np.float32))
    m.forward(train=True)
    trained = m.memory()
    assert trained["grads"] > 0 and trained["workspace"] > 0
    assert trained["scratch"] > 0   # the GRU's projection gradients, one call's temporaries
    assert trained["arena"] >= trained["values"] + trained["grads"] + trained["workspace"] + trained["scratch"]
    m.forward(train=False)
    assert m.memory()["grads"] == 0


def test_set_threads_checks_its_argument_and_keeps_results(rng):
    g = seqattn.Graph()
    x = g.input("x", 3)
    y = g.dense(g.gru(x, hidden=8, name="gru"), 1)
    m = seqattn.Model(g, seed=1)
    data = rng.standard_normal((2, 5, 3)).astype(np.float32)
    m.set_input(x, data)
    m.forward()
    before = m.output(y)
    for bad in (-1, 1025):
        with pytest.raises(seqattn.InvalidArgumentError, match="sa_model_set_threads"):
            m.set_threads(bad)
    m.set_threads(0)
    m.forward()
    np.testing.assert_array_equal(m.output(y), before)
