"""test_layers_parity.py — seqattn's non-recurrent layers against torch:
dense (nn.Linear), attention pooling (a torch reference written below),
mean/last over time, activations + concat, and the MSE/MAE losses, each with
gradients w.r.t. inputs and parameters, with and without per-sample lengths.
Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()
import numpy as np  # noqa: E402
import torch.nn.functional as Fn  # noqa: E402

import sa_ctypes as sa  # noqa: E402
from torch_bridge import build, grad_pairs, load_params, np32, valid_mask  # noqa: E402

B, T = 3, 9
LENS = [9, 5, 1]  # a full sample, a mid one, a single step (softmax of one score)


def dense_case(case):
    torch.manual_seed(1)
    fin, units = 13, 9
    ref = torch.nn.Linear(fin, units)
    named = dict(ref.named_parameters())
    x = torch.randn(B, T, fin, requires_grad=True)
    g = sa.Graph()
    xn = g.input("x", fin)
    d = g.dense(xn, units)
    with build(g) as m:
        load_params(case, m, {"dense0": named})
        y_ref = ref(x)
        G = torch.randn(y_ref.shape)
        (y_ref * G).sum().backward()
        m.set_input(xn, np32(x))
        m.forward()
        m.backward_from({d: np32(G)})
        case.close("out", m.output(d), np32(y_ref), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close_all("dW", grad_pairs(m, "dense0", named))


def attention_ref(h, score, P, lengths):
    """SimpleAttention: scores e_t, alpha = softmax over valid steps, context = sum alpha_t h_t.
    @return context, alpha and the scores e (keeping their gradient)."""
    if score == sa.SA_SCORE_ADDITIVE:  # v^T tanh(W h + b)
        e = torch.tanh(h @ P["weight"].T + P["bias"]) @ P["v"]
    else:  # w^T h + b, optionally through tanh
        e = (h @ P["weight"].T + P["bias"]).squeeze(-1)
        if score == sa.SA_SCORE_TANH:
            e = torch.tanh(e)
    e.retain_grad()
    alpha = torch.softmax(e.masked_fill(~valid_mask(lengths, *h.shape[:2]), float("-inf")), dim=1)
    return (alpha[..., None] * h).sum(1, keepdim=True), alpha, e


def attention_case(case, score, lengths):
    torch.manual_seed(2 + score)
    F = 11
    shapes = {"weight": (F, F), "bias": (F,), "v": (F,)} if score == sa.SA_SCORE_ADDITIVE \
        else {"weight": (1, F), "bias": (1,)}
    # scale ~1 (not the 1/sqrt(F) init) so the attention is far from uniform
    P = {n: torch.randn(s).requires_grad_() for n, s in shapes.items()}
    h = torch.randn(B, T, F, requires_grad=True)
    g = sa.Graph()
    hn = g.input("h", F)
    a = g.attention_pool(hn, score)
    with build(g) as m:
        load_params(case, m, {"attention_pool0": P})
        ctx, alpha, e = attention_ref(h, score, P, lengths)
        G = torch.randn(ctx.shape)
        (ctx * G).sum().backward()
        m.set_input(hn, np32(h), lengths)
        m.forward()
        m.backward_from({a: np32(G)})

        case.close("ctx", m.output(a), np32(ctx), VALUE)
        att = m.attention(a)
        case.close("alpha", att, np32(alpha).reshape(B, 1, 1, T), VALUE)
        case.close("alpha(mean)", m.attention(a, sa.SA_HEADS_MEAN), att, VALUE)  # one head: same
        valid = valid_mask(lengths, B, T).numpy()
        w = att.reshape(B, T)
        sums = (w * valid).sum(1)
        # a float32 sum of T terms of at most 1 is within T*eps of the exact sum
        case.expect("sum=1", abs(sums - 1).max() <= T * np.finfo(np.float32).eps, f"valid weights sum to {sums}")
        case.expect("pad=0", (w[~valid] == 0).all(), "weights on padded steps are not exactly 0")
        case.close("dh", m.grad(hn), np32(h.grad))
        pairs = grad_pairs(m, "attention_pool0", P)
        if score == sa.SA_SCORE_LINEAR:
            # softmax is shift-invariant: d/db = sum_t de_t is 0 up to the rounding of
            # that sum, which scales with the terms cancelled, sum |de_t|, not with the result
            tol = (1e-4 * float(e.grad.abs().sum()), 0.0)
            case.close("dbias(~0)", *pairs.pop("bias"), tol=tol, nonzero=False)
        case.close_all("dW", pairs)


def time_pool_case(case, lengths):
    torch.manual_seed(3)
    F = 5
    x = torch.randn(B, T, F, requires_grad=True)
    g = sa.Graph()
    xn = g.input("x", F)
    mt, ls = g.mean_time(xn), g.last_step(xn)
    with build(g) as m:
        mask = valid_mask(lengths, B, T)
        n = mask.sum(1)
        mean = (x * mask[..., None]).sum(1, keepdim=True) / n[:, None, None]
        last = x[torch.arange(B), n - 1][:, None, :]
        G1, G2 = torch.randn(mean.shape), torch.randn(last.shape)
        ((mean * G1).sum() + (last * G2).sum()).backward()
        m.set_input(xn, np32(x), lengths)
        m.forward()
        m.backward_from({mt: np32(G1), ls: np32(G2)})
        case.close("mean", m.output(mt), np32(mean), VALUE)
        case.close("last", m.output(ls), np32(last), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))


def act_concat_case(case):
    torch.manual_seed(4)
    x1 = torch.randn(B, T, 4, requires_grad=True)
    x2 = torch.randn(B, T, 6, requires_grad=True)
    g = sa.Graph()
    n1, n2 = g.input("x1", 4), g.input("x2", 6)
    c = g.concat([g.act(n1, sa.SA_ACT_TANH), g.act(n2, sa.SA_ACT_SIGMOID), g.act(n1, sa.SA_ACT_RELU)])
    with build(g) as m:
        y = torch.cat([torch.tanh(x1), torch.sigmoid(x2), torch.relu(x1)], dim=-1)
        G = torch.randn(y.shape)
        (y * G).sum().backward()
        m.set_input(n1, np32(x1))
        m.set_input(n2, np32(x2))
        m.forward()
        m.backward_from({c: np32(G)})
        case.close("out", m.output(c), np32(y), VALUE)
        case.close("dx1", m.grad(n1), np32(x1.grad))
        case.close("dx2", m.grad(n2), np32(x2.grad))


def loss_case(case, kind, lengths, through_dense):
    """kind 'mse' or 'mae'. Without the dense layer pred is an input and some
    valid elements equal the target exactly, where both sides define the MAE
    gradient as 0. With it, the loss gradient reaches parameters, and lengths
    must travel from the input through the dense layer to the loss."""
    torch.manual_seed(5)
    F, fin = 4, 7
    ref = torch.nn.Linear(fin, F)
    named = dict(ref.named_parameters())
    x = torch.randn(B, T, fin if through_dense else F, requires_grad=True)
    target = torch.randn(B, T, F)
    if not through_dense:
        target[0, 0, :2] = x.detach()[0, 0, :2]  # exact ties
        target[1, 3, 3] = x.detach()[1, 3, 3]  # valid steps under LENS
    target.requires_grad_()
    g = sa.Graph()
    xn, tn = g.input("x", x.shape[-1]), g.input("target", F)
    pn = g.dense(xn, F) if through_dense else xn
    loss = (g.loss_mse if kind == "mse" else g.loss_mae)(pn, tn)
    with build(g) as m:
        if through_dense:
            load_params(case, m, {"dense0": named})
        pred = ref(x) if through_dense else x
        mask = valid_mask(lengths, B, T)
        lref = (Fn.mse_loss if kind == "mse" else Fn.l1_loss)(pred[mask], target[mask])
        lref.backward()
        m.set_input(xn, np32(x), lengths)  # lengths on pred only: padded pred steps are excluded
        m.set_input(tn, np32(target))
        m.forward()
        m.backward(loss)
        case.close("loss", m.output(loss), np32(lref).reshape(1, 1, 1), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close("dtarget", m.grad(tn), np32(target.grad))
        if through_dense:
            case.close_all("dW", grad_pairs(m, "dense0", named))


def main():
    r = Report()
    r.run("dense 13->9", dense_case)
    for score, name in ((sa.SA_SCORE_ADDITIVE, "additive"), (sa.SA_SCORE_TANH, "tanh"),
                        (sa.SA_SCORE_LINEAR, "linear")):
        for lens in (None, LENS):
            r.run(f"attention {name} lengths={lens}", attention_case, score, lens)
    for lens in (None, LENS):
        r.run(f"mean_time+last_step lengths={lens}", time_pool_case, lens)
    r.run("act(tanh,sigmoid,relu)+concat", act_concat_case)
    for kind in ("mse", "mae"):
        r.run(f"{kind} inputs lengths={LENS} ties", loss_case, kind, LENS, False)
        r.run(f"{kind} dense lengths={LENS}", loss_case, kind, LENS, True)
        r.run(f"{kind} dense lengths=None", loss_case, kind, None, True)
    r.exit()


if __name__ == "__main__":
    main()
