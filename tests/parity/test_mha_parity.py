"""test_mha_parity.py — sa_mha against torch.nn.MultiheadAttention(batch_first=True)
and sa_sdpa against softmax(q k^T / sqrt(F) + mask) v written in torch: outputs,
gradients w.r.t. every input and parameter (objective sum(out * G) for a random
G), and the attention weights per head (average_attn_weights=False) and
averaged over heads (SA_HEADS_MEAN vs torch's default average).

Odd sizes: E = 33 with 3 heads; self-attention B = 3, T = 17 (packed
in_proj_weight); cross-attention Tq = 7, Tk = 13, kdim = 5, vdim = 11 (separate
q/k/v_proj_weight). Masks: causal as attn_mask = triu(ones, 1) (top-left
aligned), key padding from the key's lengths. torch gives NaN for a query row
that sees no key, so every case keeps key 0 visible to every row (lengths >= 1,
causal rows see j <= i); the all-hidden row (zeros in seqattn) is checked by
the C unit tests. Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()
import numpy as np  # noqa: E402

import sa_ctypes as sa  # noqa: E402
from torch_bridge import build, grad_pairs, load_params, np32, valid_mask  # noqa: E402

B, E, HEADS = 3, 33, 3


def masks(Tq, Tk, causal, lengths):
    """torch's (attn_mask, key_padding_mask), True = hidden, or None."""
    attn = torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1) if causal else None
    kpm = None if lengths is None else ~valid_mask(lengths, B, Tk)
    return attn, kpm


def check_weights(case, m, node, got_mean_want, heads_want, Tk, causal, lengths):
    """seqattn's kept weights vs torch's, per head and averaged; hidden keys exactly 0."""
    att = m.attention(node)
    case.close("w", att, heads_want, VALUE)
    case.close("w(mean)", m.attention(node, sa.SA_HEADS_MEAN), got_mean_want, VALUE)
    Tq = att.shape[2]
    attn, kpm = masks(Tq, Tk, causal, lengths)
    hidden = np.zeros((B, 1, Tq, Tk), dtype=bool)
    if attn is not None:
        hidden |= attn.numpy()[None, None]
    if kpm is not None:
        hidden |= kpm.numpy()[:, None, None, :]
    hidden = np.broadcast_to(hidden, att.shape)
    case.expect("hidden=0", (att[hidden] == 0).all(), "weights of hidden keys are not exactly 0")
    sums = att.sum(-1)
    case.expect("sum=1", np.abs(sums - 1).max() <= Tk * np.finfo(np.float32).eps, f"rows sum to {sums}")


def mha_case(case, Tq, Tk, kdim, vdim, causal, lengths, bias, self_attn):
    torch.manual_seed(11 + Tq + 3 * causal + 5 * bias + 7 * (lengths is not None))
    ref = torch.nn.MultiheadAttention(E, HEADS, bias=bias, batch_first=True,
                                      kdim=None if kdim == E else kdim, vdim=None if vdim == E else vdim)
    with torch.no_grad():  # torch zeroes the biases; random ones test that they are added
        for n, p in ref.named_parameters():
            if "bias" in n:
                p.uniform_(-0.5, 0.5)
    named = dict(ref.named_parameters())
    g = sa.Graph()
    if self_attn:
        x = torch.randn(B, Tq, E, requires_grad=True)
        xn = g.input("x", E)
        q = k = v = x
        qn = kn = vn = xn
    else:
        q = torch.randn(B, Tq, E, requires_grad=True)
        k = torch.randn(B, Tk, kdim, requires_grad=True)
        v = torch.randn(B, Tk, vdim, requires_grad=True)
        qn, kn, vn = g.input("q", E), g.input("k", kdim), g.input("v", vdim)
    y = g.mha(qn, kn, vn, E, HEADS, causal, bias)
    with build(g) as m:
        load_params(case, m, {"mha0": named})
        attn, kpm = masks(Tq, Tk, causal, lengths)
        out, w = ref(q, k, v, key_padding_mask=kpm, attn_mask=attn, average_attn_weights=False)
        G = torch.randn(out.shape)
        (out * G).sum().backward()
        with torch.no_grad():
            _, w_mean = ref(q, k, v, key_padding_mask=kpm, attn_mask=attn)  # torch's own average

        if self_attn:
            m.set_input(xn, np32(x), lengths)  # the key's lengths: the same node
        else:
            m.set_input(qn, np32(q))
            m.set_input(kn, np32(k), lengths)
            m.set_input(vn, np32(v), lengths)
        m.forward()
        m.backward_from({y: np32(G)})
        case.close("out", m.output(y), np32(out), VALUE)
        if self_attn:
            case.close("dx", m.grad(xn), np32(x.grad))
        else:
            case.close("dq", m.grad(qn), np32(q.grad))
            case.close("dk", m.grad(kn), np32(k.grad))
            case.close("dv", m.grad(vn), np32(v.grad))
        case.close_all("dW", grad_pairs(m, "mha0", named))
        check_weights(case, m, y, np32(w_mean)[:, None], np32(w), Tk, causal, lengths)


def sdpa_case(case, Tq, Tk, F, Fv, causal, lengths, self_attn):
    torch.manual_seed(31 + Tq + causal)
    g = sa.Graph()
    if self_attn:
        x = torch.randn(B, Tq, F, requires_grad=True)
        xn = g.input("x", F)
        q = k = v = x
        qn = kn = vn = xn
    else:
        q = torch.randn(B, Tq, F, requires_grad=True)
        k = torch.randn(B, Tk, F, requires_grad=True)
        v = torch.randn(B, Tk, Fv, requires_grad=True)
        qn, kn, vn = g.input("q", F), g.input("k", F), g.input("v", Fv)
    y = g.sdpa(qn, kn, vn, causal)
    with build(g) as m:
        attn, kpm = masks(Tq, Tk, causal, lengths)
        s = q @ k.transpose(1, 2) / np.sqrt(F)
        if attn is not None:
            s = s.masked_fill(attn[None], float("-inf"))
        if kpm is not None:
            s = s.masked_fill(kpm[:, None, :], float("-inf"))
        w = torch.softmax(s, dim=-1)
        out = w @ v
        G = torch.randn(out.shape)
        (out * G).sum().backward()
        if self_attn:
            m.set_input(xn, np32(x), lengths)
        else:
            m.set_input(qn, np32(q))
            m.set_input(kn, np32(k), lengths)
            m.set_input(vn, np32(v), lengths)
        m.forward()
        m.backward_from({y: np32(G)})
        case.close("out", m.output(y), np32(out), VALUE)
        if self_attn:
            case.close("dx", m.grad(xn), np32(x.grad))
        else:
            case.close("dq", m.grad(qn), np32(q.grad))
            case.close("dk", m.grad(kn), np32(k.grad))
            case.close("dv", m.grad(vn), np32(v.grad))
        wn = np32(w)[:, None]
        check_weights(case, m, y, wn, wn, Tk, causal, lengths)


def main():
    r = Report()
    T = 17
    LT = [17, 9, 1]  # a full sample, a partial one, a single key
    LK = [13, 6, 2]
    for causal in (False, True):
        for lens in (None, LT):
            r.run(f"mha self T={T} causal={int(causal)} lengths={lens}", mha_case, T, T, E, E, causal, lens,
                  True, True)
    r.run(f"mha self T={T} causal=1 lengths={LT} bias=0", mha_case, T, T, E, E, True, LT, False, True)
    for causal in (False, True):
        for lens in (None, LK):
            r.run(f"mha cross 7x13 kdim=5 vdim=11 causal={int(causal)} lengths={lens}", mha_case, 7, 13, 5, 11,
                  causal, lens, True, False)
    r.run(f"mha cross 7x13 kdim=5 vdim=11 causal=1 lengths={LK} bias=0", mha_case, 7, 13, 5, 11, True, LK,
          False, False)
    r.run(f"mha cross 7x13 kdim=vdim=E lengths={LK}", mha_case, 7, 13, E, E, False, LK, True, False)
    r.run(f"sdpa cross 7x13 F=5 Fv=11 lengths={LK}", sdpa_case, 7, 13, 5, 11, False, LK, False)
    r.run(f"sdpa cross 7x13 F=5 Fv=11 causal=1 lengths={LK}", sdpa_case, 7, 13, 5, 11, True, LK, False)
    r.run(f"sdpa self T={T} F=6 causal=1 lengths={LT}", sdpa_case, T, T, 6, 6, True, LT, True)
    r.exit()


if __name__ == "__main__":
    main()
