"""test_norm_parity.py — the transformer's per-step layers against torch:
nn.LayerNorm (odd F, default and custom eps, a large mean offset, with
lengths), F.gelu (exact form), the learned positional table (nn.Embedding
over positions), a dense -> layer norm -> GELU -> dense stack; the sinusoidal
encoding against its formula in float64 numpy; dropout's scale and gradient
against torch applied with seqattn's own mask (torch's generator cannot be
matched, so the mask is read back from the output). Outputs, input and
parameter gradients. Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()
import numpy as np  # noqa: E402
import torch.nn.functional as Fn  # noqa: E402

import sa_ctypes as sa  # noqa: E402
from torch_bridge import build, grad_pairs, load_params, np32  # noqa: E402

B, T, F = 3, 17, 33  # odd F: no power-of-two reductions hide an indexing slip
LENS = [17, 9, 1]


def layer_norm_case(case, eps, offset, lengths, exact=False):
    """exact: the reference runs in float64. With a large mean offset torch's
    own float32 moments are off by ~1e-5 relative, while seqattn's (two passes
    in double) stay at ~1e-7: the float64 result is then the meaningful one."""
    torch.manual_seed(11)
    ref = torch.nn.LayerNorm(F, eps=eps)
    with torch.no_grad():  # away from the 1 / 0 init so that dx depends on the weight
        ref.weight.copy_(1.0 + 0.5 * torch.randn(F))
        ref.bias.copy_(0.5 * torch.randn(F))
    x32 = offset + torch.randn(B, T, F)
    g = sa.Graph()
    xn = g.input("x", F)
    ln = g.layer_norm(xn, eps)
    with build(g) as m:
        load_params(case, m, {"layer_norm0": dict(ref.named_parameters())})
        if exact:
            ref = ref.double()
        named = dict(ref.named_parameters())
        x = (x32.double() if exact else x32).requires_grad_()
        y = ref(x)
        G = torch.randn(y.shape, dtype=y.dtype)
        (y * G).sum().backward()
        m.set_input(xn, np32(x32), lengths)
        m.forward()
        m.backward_from({ln: np32(G)})
        case.close("out", m.output(ln), np32(y), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close_all("dparams", grad_pairs(m, "layer_norm0", named))


def gelu_case(case):
    torch.manual_seed(12)
    x = (3.0 * torch.randn(B, T, F)).requires_grad_()
    g = sa.Graph()
    xn = g.input("x", F)
    a = g.act(xn, sa.SA_ACT_GELU)
    with build(g) as m:
        y = Fn.gelu(x)  # approximate='none'
        G = torch.randn(y.shape)
        (y * G).sum().backward()
        m.set_input(xn, np32(x))
        m.forward()
        m.backward_from({a: np32(G)})
        case.close("out", m.output(a), np32(y), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))


def stack_case(case):
    """dense -> layer norm -> GELU -> dense: the way a transformer's FFN uses them."""
    torch.manual_seed(13)
    hidden = 21
    ref = torch.nn.Sequential(torch.nn.Linear(F, hidden), torch.nn.LayerNorm(hidden), torch.nn.GELU(),
                              torch.nn.Linear(hidden, 5))
    x = torch.randn(B, T, F, requires_grad=True)
    g = sa.Graph()
    xn = g.input("x", F)
    out = g.dense(g.act(g.layer_norm(g.dense(xn, hidden)), sa.SA_ACT_GELU), 5)
    groups = {"dense0": dict(ref[0].named_parameters()), "layer_norm0": dict(ref[1].named_parameters()),
              "dense1": dict(ref[3].named_parameters())}
    with build(g) as m:
        load_params(case, m, groups)
        y = ref(x)
        G = torch.randn(y.shape)
        (y * G).sum().backward()
        m.set_input(xn, np32(x))
        m.forward()
        m.backward_from({out: np32(G)})
        case.close("out", m.output(out), np32(y), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        pairs = {}
        for node, named in groups.items():
            pairs.update({f"{node}.{k}": v for k, v in grad_pairs(m, node, named).items()})
        case.close_all("dparams", pairs)


def sinusoid(T_, F_):
    """Vaswani et al. in float64: PE[t, 2i] = sin(t / 10000^(2i/F)), PE[t, 2i+1] = cos(same)."""
    t = np.arange(T_, dtype=np.float64)[:, None]
    two_i = (np.arange(F_) // 2 * 2).astype(np.float64)[None, :]
    angle = t / np.power(10000.0, two_i / F_)
    return np.where(np.arange(F_)[None, :] % 2 == 0, np.sin(angle), np.cos(angle))


def posenc_sin_case(case, F_):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((B, T, F_)).astype(np.float32)
    G = rng.standard_normal((B, T, F_)).astype(np.float32)
    g = sa.Graph()
    xn = g.input("x", F_)
    p = g.posenc_sinusoidal(xn)
    with build(g) as m:
        m.set_input(xn, x, LENS)  # padded steps get their encoding too
        m.forward()
        m.backward_from({p: G})
        want = x.astype(np.float64) + sinusoid(T, F_)[None]
        case.close("out", m.output(p), want, VALUE)
        case.close("dx", m.grad(xn), G)  # y = x + PE


def posenc_learned_case(case):
    torch.manual_seed(15)
    max_len = 20
    emb = torch.nn.Embedding(max_len, F)
    named = dict(emb.named_parameters())
    x = torch.randn(B, T, F, requires_grad=True)
    g = sa.Graph()
    xn = g.input("x", F)
    p = g.posenc_learned(xn, max_len)
    with build(g) as m:
        load_params(case, m, {"posenc_learned0": named})
        y = x + emb(torch.arange(T))[None]
        G = torch.randn(y.shape)
        (y * G).sum().backward()
        m.set_input(xn, np32(x))
        m.forward()
        m.backward_from({p: np32(G)})
        case.close("out", m.output(p), np32(y), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close_all("dweight", grad_pairs(m, "posenc_learned0", named))


def dropout_case(case):
    """torch's generator cannot be matched: apply torch's dropout formula with
    seqattn's mask (read back from the output) and compare values and dx."""
    p = 0.3
    torch.manual_seed(16)
    x = (torch.rand(B, T, F) + 0.5).requires_grad_()  # nonzero: a zero output is a dropped element
    g = sa.Graph()
    xn = g.input("x", F)
    d = g.dropout(xn, p)
    with build(g) as m:
        m.set_input(xn, np32(x))
        m.forward(train=True)
        got = m.output(d)
        keep = torch.from_numpy(got != 0)
        y = x * keep / (1 - p)  # torch: input * bernoulli(1 - p) / (1 - p)
        G = torch.randn(y.shape)
        (y * G).sum().backward()
        m.backward_from({d: np32(G)})
        case.close("out", got, np32(y), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        frac = 1.0 - keep.float().mean().item()
        case.expect(f"dropped {frac:.3f}", abs(frac - p) < 0.05, f"fraction {frac} far from p={p}")
        m.forward(train=False)
        case.close("infer identity", m.output(d), np32(x), (0.0, 0.0))


def main():
    r = Report()
    r.run("layer_norm F=33", layer_norm_case, 1e-5, 0.0, None)
    r.run("layer_norm F=33 lengths", layer_norm_case, 1e-5, 0.0, LENS)
    r.run("layer_norm F=33 eps=1e-3 offset 100 (float64 ref)", layer_norm_case, 1e-3, 100.0, None, True)
    r.run("gelu", gelu_case)
    r.run("dense-ln-gelu-dense", stack_case)
    r.run("posenc_sin F=33", posenc_sin_case, F)
    r.run("posenc_sin F=32", posenc_sin_case, 32)
    r.run("posenc_learned", posenc_learned_case)
    r.run("dropout (seqattn mask)", dropout_case)
    r.exit()


if __name__ == "__main__":
    main()
