"""Files: parameters, whole models, checkpoints (needs the persistence API)."""
import os

import numpy as np
import pytest

import seqattn
from safetensors_io import load_file, save_file

pytestmark = pytest.mark.skipif(not seqattn.has_persistence(), reason="libseqattn has no persistence API")


def build(dropout=0.0):
    g = seqattn.Graph()
    x = g.input("x", 3)
    h = g.lstm(x, hidden=5, name="enc")
    h = g.dropout(h, dropout) if dropout else h
    c = g.attention_pool(h, score="tanh", name="attn")
    y = g.dense(c, 2, name="head")
    t = g.input("target", 2)
    L = g.mse(y, t)
    return g, x, c, y, t, L


def data(rng, B=4, T=6):
    return (rng.standard_normal((B, T, 3)).astype(np.float32), rng.standard_normal((B, 1, 2)).astype(np.float32))


def outputs(m, xs, lengths=None):
    m.set_input("x", xs, lengths)
    m.set_input("target", np.zeros((xs.shape[0], 1, 2), np.float32))
    m.forward()
    return m.output("head")


def test_params_round_trip(tmp_path, rng):
    g, *_ = build()
    a, b = seqattn.Model(g, seed=1), seqattn.Model(g, seed=2)
    xs, _ = data(rng)
    path = tmp_path / "w.safetensors"
    a.save_params(path)                      # os.PathLike
    assert not np.array_equal(outputs(a, xs), outputs(b, xs))
    b.load_params(str(path))                 # str
    np.testing.assert_array_equal(outputs(a, xs), outputs(b, xs))
    tensors, meta = load_file(path)          # a plain safetensors file
    assert meta.get("format") == "pt"
    assert set(tensors) == set(a.param_names())
    for name, v in a.params().items():
        np.testing.assert_array_equal(tensors[name], v)


def test_load_params_errors_leave_the_model_unchanged(tmp_path, rng):
    g, *_ = build()
    m = seqattn.Model(g)
    before = m.state_dict()
    full = m.state_dict()

    def write(name, tensors):
        p = tmp_path / name
        save_file(tensors, p)
        return p

    missing = write("missing.st", {k: v for k, v in full.items() if k != "head.bias"})
    with pytest.raises(seqattn.NotFoundError, match="head.bias"):
        m.load_params(missing)
    m.load_params(missing, strict=False)     # lenient: head.bias keeps its value
    extra = write("extra.st", dict(full, other=np.ones(2, np.float32)))
    with pytest.raises(seqattn.NotFoundError, match="other"):
        m.load_params(extra)
    m.load_params(extra, strict=False)
    shape = write("shape.st", dict(full, **{"head.bias": np.ones(3, np.float32)}))
    with pytest.raises(seqattn.ShapeError):
        m.load_params(shape, strict=False)
    nan = dict(full)
    nan["head.weight"] = nan["head.weight"].copy()
    nan["head.weight"][0, 0] = np.nan
    with pytest.raises(seqattn.NumericError):
        m.load_params(write("nan.st", nan))
    bad = tmp_path / "bad.st"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(seqattn.FormatError) as ei:
        m.load_params(bad)
    assert ei.value.status_name == "SA_ERR_FORMAT" and "sa_load_params" in ei.value.message
    with pytest.raises(seqattn.FileIOError) as ei:
        m.load_params(tmp_path / "nope.st")
    assert isinstance(ei.value, OSError)
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # float64 tensors are converted
    m.load_params(write("f64.st", {k: v.astype(np.float64) * 2 for k, v in full.items()}))
    np.testing.assert_allclose(m.param("head.weight"), 2 * full["head.weight"], rtol=1e-7)


def test_save_into_a_missing_directory_is_an_io_error(tmp_path):
    g, *_ = build()
    m = seqattn.Model(g)
    with pytest.raises(seqattn.FileIOError):
        m.save_params(tmp_path / "no" / "such" / "dir.st")
    assert os.listdir(tmp_path) == []


def test_whole_model_round_trip(tmp_path, rng):
    g, x, c, y, t, L = build(dropout=0.2)
    m = seqattn.Model(g, seed=9)
    xs, ys = data(rng)
    lens = [6, 2, 5, 1]
    path = tmp_path / "model.safetensors"
    m.save(path)
    del g
    m2 = seqattn.load(path)
    assert m2.seed == 9 and m2.node_count == m.node_count
    assert m2.find_node("attn") == c and m2.features("attn") == 5
    np.testing.assert_array_equal(outputs(m2, xs, lens), outputs(m, xs, lens))
    np.testing.assert_array_equal(m2.attention("attn"), m.attention(c))
    # same seed from the file: same dropout masks in training forwards
    for mm in (m, m2):
        mm.forward(train=True, inputs={"x": xs, "target": ys})
    np.testing.assert_array_equal(m2.output("head"), m.output(y))
    # the Python-side F check works on a loaded model too
    with pytest.raises(seqattn.ShapeError, match="F=4"):
        m2.set_input("x", np.ones((1, 2, 4)))
    m3 = seqattn.load(path, seed=123)
    assert m3.seed == 123
    np.testing.assert_array_equal(outputs(m3, xs), outputs(m, xs))   # weights come from the file
    with pytest.raises(seqattn.FileIOError):
        seqattn.load(tmp_path / "nope")
    params_only = tmp_path / "params.safetensors"
    m.save_params(params_only)
    with pytest.raises(seqattn.SeqattnError, match="sa_model_load"):
        seqattn.load(params_only)                                    # no graph in the file


def train_steps(m, opt, L, xs, ys, n):
    for _ in range(n):
        m.forward(train=True, inputs={"x": xs, "target": ys})
        m.backward(L)
        opt.step()
        m.zero_grad()


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_checkpoint_resumes_bitwise(tmp_path, rng, kind):
    def make(seed, lr):
        g, x, c, y, t, L = build(dropout=0.3)
        m = seqattn.Model(g, seed=seed)
        if kind == "adam":
            return m, seqattn.Adam(m, lr=lr, betas=(0.8, 0.95), clip_norm=1.0), L
        return m, seqattn.SGD(m, lr=lr, momentum=0.9), L

    xs, ys = data(rng)
    a, oa, La = make(4, 1e-2)
    train_steps(a, oa, La, xs, ys, 3)
    oa.lr = 5e-3
    ckpt = tmp_path / "ckpt.safetensors"
    seqattn.save_checkpoint(a, oa, ckpt)
    train_steps(a, oa, La, xs, ys, 4)

    b, ob, Lb = make(77, 0.5)                # other seed, other lr: all restored
    seqattn.load_checkpoint(b, ob, ckpt)
    assert ob.lr == pytest.approx(5e-3) and b.seed == 4 and b.train_index == 3
    train_steps(b, ob, Lb, xs, ys, 4)
    for k, v in a.params().items():
        np.testing.assert_array_equal(b.param(k), v, err_msg=k)

    other, o_other, _ = make(4, 1e-2)
    with pytest.raises(seqattn.InvalidArgumentError, match="another model"):
        seqattn.save_checkpoint(a, o_other, ckpt)
    with pytest.raises(TypeError):
        seqattn.save_checkpoint(a, "opt", ckpt)


def test_every_layer_survives_a_whole_model_round_trip(tmp_path, rng):
    from zoo import build_zoo, zoo_inputs
    g, nodes, _ = build_zoo()
    m = seqattn.Model(g, seed=5)
    m.save(tmp_path / "zoo.safetensors")
    m2 = seqattn.load(tmp_path / "zoo.safetensors")
    assert m2.node_count == m.node_count and m2.param_shapes() == m.param_shapes()
    inputs = {nodes[k]: v for k, v in zoo_inputs(rng, lengths=[7, 3, 5]).items()}
    for mm in (m, m2):
        mm.forward(train=True, inputs=inputs)           # dropout masks too: same seed, same index
    for label, n in nodes.items():
        np.testing.assert_array_equal(m2.output(n), m.output(n), err_msg=label)
