"""Optimizers: they train, match torch.optim, clip, change lr."""
import numpy as np
import pytest

import seqattn


def regression(seed=0):
    g = seqattn.Graph()
    x = g.input("x", 2)
    t = g.input("t", 1)
    h = g.gru(x, hidden=8)
    y = g.dense(g.attention_pool(h), 1)
    L = g.mse(y, t)
    m = seqattn.Model(g, seed=seed)
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((16, 6, 2)).astype(np.float32)
    ys = (xs[:, -2:, 0].mean(axis=1) - 0.5 * xs[:, 0, 1])[:, None, None].astype(np.float32)
    m.set_inputs({x: xs, t: ys})
    return m, L


def train(m, L, opt, steps):
    losses = []
    for _ in range(steps):
        m.forward(train=True)
        losses.append(float(m.output(L)[0, 0, 0]))
        m.backward(L)
        opt.step()
        opt.zero_grad()
    return losses


@pytest.mark.parametrize("make", [
    lambda m: seqattn.Adam(m, lr=1e-2, clip_norm=1.0),
    lambda m: seqattn.SGD(m, lr=0.1, momentum=0.9, clip_norm=5.0),
])
def test_optimizers_reduce_the_loss(make):
    m, L = regression()
    losses = train(m, L, make(m), 150)
    assert losses[-1] < 0.3 * losses[0], (losses[0], losses[-1])


def test_lr_setter():
    m, L = regression()
    opt = seqattn.SGD(m, lr=0.5)
    assert opt.lr == 0.5
    opt.lr = 0.0 + 1e-3
    assert opt.lr == pytest.approx(1e-3)
    m.forward(train=True)
    m.backward(L)
    before = m.state_dict()
    opt.step()
    for name, v in m.params().items():
        np.testing.assert_allclose(v, before[name] - 1e-3 * m.param_grad(name), rtol=1e-5, atol=1e-9)


def _set_grads(m, grads):
    for name, gr in m.param_grads().items():
        gr[...] = grads[name]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_matches_torch_optim(kind):
    torch = pytest.importorskip("torch")
    m, L = regression(seed=4)
    rng = np.random.default_rng(9)
    tparams = {k: torch.nn.Parameter(torch.tensor(v.copy())) for k, v in m.params().items()}
    if kind == "adam":
        opt = seqattn.Adam(m, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
        topt = torch.optim.Adam(tparams.values(), lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
    else:
        opt = seqattn.SGD(m, lr=0.05, momentum=0.7, weight_decay=0.01)
        topt = torch.optim.SGD(tparams.values(), lr=0.05, momentum=0.7, weight_decay=0.01)
    for _ in range(4):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in m.params().items()}
        _set_grads(m, grads)
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        opt.step()
        topt.step()
    for k, v in m.params().items():
        np.testing.assert_allclose(v, tparams[k].detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_clip_grad_norm():
    m, L = regression()
    m.forward(train=True)
    m.backward(L)
    flat = m.params_flat()[1]
    norm = float(np.sqrt((flat.astype(np.float64) ** 2).sum()))
    assert seqattn.clip_grad_norm(m, 0.0) == pytest.approx(norm, rel=1e-5)   # 0: measure only
    got = seqattn.clip_grad_norm(m, norm / 4)
    assert got == pytest.approx(norm, rel=1e-5)
    assert float(np.sqrt((flat.astype(np.float64) ** 2).sum())) == pytest.approx(norm / 4, rel=1e-4)


def test_clip_norm_option_matches_manual_clipping():
    a, La = regression(seed=2)
    b, Lb = regression(seed=2)
    oa = seqattn.SGD(a, lr=0.1, clip_norm=0.01)
    ob = seqattn.SGD(b, lr=0.1)
    for m, L in ((a, La), (b, Lb)):
        m.forward(train=True)
        m.backward(L)
    oa.step()
    seqattn.clip_grad_norm(b, 0.01)
    ob.step()
    for k, v in a.params().items():
        np.testing.assert_allclose(v, b.param(k), rtol=1e-5, atol=1e-7)
