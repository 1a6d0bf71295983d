"""Building every layer, forward/backward shapes, lengths, gradients."""
import numpy as np

import seqattn
from zoo import B, T, build_zoo, zoo_inputs


def test_version_and_library():
    assert seqattn.version_number() // 10000 == seqattn.EXPECTED_MAJOR
    assert seqattn.version() == "{}.{}.{}".format(seqattn.version_number() // 10000,
                                                  seqattn.version_number() // 100 % 100,
                                                  seqattn.version_number() % 100)


def test_every_builder_gives_a_valid_node_with_features():
    g, nodes, expected = build_zoo()
    assert g.status == 0 and g.error == ""
    assert len(g) == g.node_count > len(nodes)
    for label, node in nodes.items():
        assert node.valid, label
        assert node.features == expected[label][2], label
        assert g.features(node) == node.features
    assert nodes["x"] == g.node(nodes["x"].id)
    assert int(nodes["gru"]) == nodes["gru"].id
    assert "features=8" in repr(nodes["gru"])


def test_forward_backward_shapes_of_every_layer(rng):
    g, nodes, expected = build_zoo()
    m = seqattn.Model(g, seed=3)
    m.forward(train=True, inputs={nodes[k]: v for k, v in zoo_inputs(rng).items()})
    for label, node in nodes.items():
        out = m.output(node)
        assert out.shape == expected[label], label
        assert out.dtype == np.float32 and out.flags.c_contiguous
        assert np.isfinite(out).all(), label
        assert m.shape(node) == expected[label]
    # two losses at once, through backward_from
    m.backward_from({nodes["mse"]: np.ones((1, 1, 1)), nodes["mae"]: np.full((1, 1, 1), 0.5)})
    dx = m.grad(nodes["x"])
    assert dx.shape == (B, T, 5) and np.abs(dx).sum() > 0
    grads = m.param_grads()
    assert set(grads) == set(m.params())
    for name, gr in grads.items():
        assert gr.shape == m.params()[name].shape
        assert np.isfinite(gr).all(), name
    # the loss path reaches the transformer blocks, the GRU and the first dense layer
    for name in ("proj.weight", "gru.weight_ih_l1_reverse", "blk.self_attn.in_proj_weight",
                 "blk.linear2.weight", "head.bias"):
        assert np.abs(grads[name]).sum() > 0, name


def test_parameter_names_follow_torch(rng):
    g, nodes, _ = build_zoo()
    m = seqattn.Model(g)
    shapes = m.param_shapes()
    assert shapes["proj.weight"] == (6, 5) and shapes["proj.bias"] == (6,)
    assert shapes["gru.weight_ih_l0"] == (12, 6)
    assert shapes["gru.weight_ih_l1_reverse"] == (12, 8)
    assert shapes["lstm.weight_ci_l0"] == (3,)
    assert shapes["attn.v"] == (8,)
    assert shapes["mha.in_proj_weight"] == (24, 8)
    assert shapes["blk.self_attn.out_proj.weight"] == (8, 8)
    assert shapes["blk.linear1.weight"] == (16, 8)
    assert shapes["blk.norm2.bias"] == (8,)
    assert m.num_parameters == sum(int(np.prod(s)) for s in shapes.values())
    assert m.param_names() == list(shapes)
    assert m.find_node("blk.self_attn").features == 8
    assert m.find_node("gru") == nodes["gru"]
    assert m.find_input("target") == nodes["target"]


def test_same_seed_same_weights_different_seed_different():
    def params(seed):
        g, _, _ = build_zoo()
        return seqattn.Model(g, seed=seed).state_dict()
    a, b, c = params(5), params(5), params(6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_lengths_travel_and_padding_is_zero(rng):
    g = seqattn.Graph()
    x = g.input("x", 2)
    h = g.gru(x, hidden=3)
    s = g.slice_time(h, 2, 3)
    m = seqattn.Model(g)
    lens = np.array([5, 2, 4])
    m.set_input(x, rng.standard_normal((3, 5, 2)), lengths=lens)  # float64 in: converted
    m.forward()
    assert m.lengths(x).tolist() == [5, 2, 4]
    assert m.lengths(h).dtype == np.int32 and m.lengths(h).tolist() == [5, 2, 4]
    assert m.lengths(s).tolist() == [3, 1, 2]
    out = m.output(h)
    assert np.all(out[1, 2:] == 0) and np.all(out[2, 4:] == 0)
    m.set_input(x, np.zeros((3, 5, 2), np.float32))
    m.forward()
    assert m.lengths(h).tolist() == [5, 5, 5]


def test_input_array_is_passed_without_copy_and_strided_arrays_work(rng):
    g = seqattn.Graph()
    x = g.input("x", 3)
    y = g.dense(x, 2)
    m = seqattn.Model(g)
    base = rng.standard_normal((4, 6, 6)).astype(np.float32)
    strided = base[:, ::2, ::2]          # not contiguous: converted once
    m.forward(inputs={x: strided})
    ref = np.ascontiguousarray(strided)
    w, b = m.params()["dense0.weight"], m.params()["dense0.bias"]
    np.testing.assert_allclose(m.output(y), ref @ w.T + b, rtol=1e-5, atol=1e-6)
    # a float32 C-contiguous array goes through as is
    from seqattn.model import _f32_array
    assert _f32_array(ref, "t") is ref
    # nodes by name work everywhere a node is expected
    m.forward(inputs={"x": ref})
    np.testing.assert_array_equal(m.output("dense0"), m.output(y))


def test_backward_input_gradient_matches_finite_differences(rng):
    g = seqattn.Graph()
    x = g.input("x", 2)
    h = g.gru(x, hidden=4)
    c = g.attention_pool(h)
    y = g.dense(c, 1)
    m = seqattn.Model(g, seed=11)
    xs = rng.standard_normal((2, 5, 2)).astype(np.float64)
    seed = rng.standard_normal((2, 1, 1)).astype(np.float32)

    def f(xv):
        m.set_input(x, xv)
        m.forward()
        return float((m.output(y).astype(np.float64) * seed).sum())

    m.set_input(x, xs)
    m.forward(train=True)
    m.backward_from({y: seed})
    dx = m.grad(x)
    eps = 1e-2
    num = np.zeros_like(xs)
    for idx in np.ndindex(*xs.shape):
        p, q = xs.copy(), xs.copy()
        p[idx] += eps
        q[idx] -= eps
        num[idx] = (f(p) - f(q)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=2e-2, atol=2e-3)


def test_parameter_gradients_accumulate_until_zero_grad(rng):
    g = seqattn.Graph()
    x = g.input("x", 2)
    t = g.input("t", 1)
    L = g.mse(g.dense(x, 1), t)
    m = seqattn.Model(g)
    m.forward(train=True, inputs={x: rng.standard_normal((3, 4, 2)), t: rng.standard_normal((3, 4, 1))})
    m.backward(L)
    once = m.param_grad("dense0.weight").copy()
    m.backward(L)
    np.testing.assert_allclose(m.param_grad("dense0.weight"), 2 * once, rtol=1e-6)
    m.zero_grad()
    assert not m.params_flat()[1].any()


def test_dropout_uses_train_index(rng):
    g = seqattn.Graph()
    x = g.input("x", 8)
    d = g.dropout(x, 0.5)
    m = seqattn.Model(g, seed=1)
    xs = np.ones((2, 3, 8), np.float32)
    m.forward(inputs={x: xs})
    np.testing.assert_array_equal(m.output(d), xs)           # inference: identity
    assert m.train_index == 0
    m.forward(train=True)
    first = m.output(d)
    assert m.train_index == 1
    assert set(np.unique(first)) <= {0.0, 2.0}
    m.forward(train=True)
    assert not np.array_equal(m.output(d), first)
    m.train_index = 0
    m.forward(train=True)
    np.testing.assert_array_equal(m.output(d), first)


def test_graph_and_model_lifetimes_are_independent(rng):
    g = seqattn.Graph()
    x = g.input("x", 1)
    y = g.dense(x, 2)
    with seqattn.Model(g) as m:
        g.close()                       # the model keeps its own copy of the graph
        m.forward(inputs={x: np.ones((1, 2, 1))})
        assert m.output(y).shape == (1, 2, 2)
    assert m.closed and "closed" in repr(m)
    with seqattn.Graph() as g2:
        g2.input("a", 1)
    assert "closed" in repr(g2)
