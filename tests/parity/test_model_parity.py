"""test_model_parity.py — whole graphs against the same model written in torch:
layers that pass well alone can still disagree when composed (lengths must
travel from the input through the GRU to the pooling and the loss, a GRU's
final-state port feeds another GRU's initial state, gradients of a node used
twice must add up). Trained with sa_backward from the scalar loss.
Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()
import torch.nn.functional as Fn  # noqa: E402

import sa_ctypes as sa  # noqa: E402
from torch_bridge import build, grad_pairs, load_params, np32, torch_gru, valid_mask  # noqa: E402

B, T, I, H = 3, 13, 5, 9
LENS = [13, 8, 3]


def encoder_decoder_case(case):
    """x -> GRU enc -> h_n -> initial state of GRU dec over y -> additive attention
    -> dense(1) -> MSE. x and y have different lengths."""
    torch.manual_seed(6)
    enc = torch.nn.GRU(I, H, 2, batch_first=True, bidirectional=True)
    dec = torch.nn.GRU(3, H, 2, batch_first=True, bidirectional=True)
    att = {"weight": torch.randn(2 * H, 2 * H), "bias": torch.randn(2 * H), "v": torch.randn(2 * H)}
    att = {n: (0.3 * t).requires_grad_() for n, t in att.items()}
    head = torch.nn.Linear(2 * H, 1)
    x, y = torch.randn(B, T, I, requires_grad=True), torch.randn(B, T, 3, requires_grad=True)
    target = torch.randn(B, 1, 1)
    ylens = [4, 13, 7]

    g = sa.Graph()
    xn, yn, tn = g.input("x", I), g.input("y", 3), g.input("target", 1)
    e = g.gru(xn, H, 2, True)
    d = g.gru(yn, H, 2, True, h0=g.final_state(e))
    pred = g.dense(g.attention_pool(d, sa.SA_SCORE_ADDITIVE), 1)
    loss = g.loss_mse(pred, tn)
    groups = {"gru0": dict(enc.named_parameters()), "gru1": dict(dec.named_parameters()),
              "attention_pool0": att, "dense0": dict(head.named_parameters())}
    with build(g) as m:
        load_params(case, m, groups)

        _, hn = torch_gru(enc, x, None, LENS)
        hd, _ = torch_gru(dec, y, hn, ylens)
        s = torch.tanh(hd @ att["weight"].T + att["bias"]) @ att["v"]
        alpha = torch.softmax(s.masked_fill(~valid_mask(ylens, B, T), float("-inf")), dim=1)
        lref = Fn.mse_loss(head((alpha[..., None] * hd).sum(1, keepdim=True)), target)
        lref.backward()

        m.set_input(xn, np32(x), LENS)
        m.set_input(yn, np32(y), ylens)
        m.set_input(tn, np32(target))
        m.forward()
        m.backward(loss)
        case.close("loss", m.output(loss), np32(lref).reshape(1, 1, 1), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        case.close("dy", m.grad(yn), np32(y.grad))
        for node, named in groups.items():
            case.close_all(f"d{node}", grad_pairs(m, node, named))


def shared_input_case(case):
    """x feeds both a GRU and a concat: dx is the sum of two paths.
    concat([GRU(x), x]) -> mean over valid steps -> dense(2) -> MAE."""
    torch.manual_seed(7)
    gru = torch.nn.GRU(I, H, 1, batch_first=True)
    head = torch.nn.Linear(H + I, 2)
    x = torch.randn(B, T, I, requires_grad=True)
    target = torch.randn(B, 1, 2)

    g = sa.Graph()
    xn, tn = g.input("x", I), g.input("target", 2)
    r = g.gru(xn, H)
    pred = g.dense(g.mean_time(g.concat([r, xn])), 2)
    loss = g.loss_mae(pred, tn)
    groups = {"gru0": dict(gru.named_parameters()), "dense0": dict(head.named_parameters())}
    with build(g) as m:
        load_params(case, m, groups)

        out, _ = torch_gru(gru, x, None, LENS)
        mask = valid_mask(LENS, B, T)[..., None]
        mean = (torch.cat([out, x], -1) * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True)
        lref = Fn.l1_loss(head(mean), target)
        lref.backward()

        m.set_input(xn, np32(x), LENS)
        m.set_input(tn, np32(target))
        m.forward()
        m.backward(loss)
        case.close("loss", m.output(loss), np32(lref).reshape(1, 1, 1), VALUE)
        case.close("dx", m.grad(xn), np32(x.grad))
        for node, named in groups.items():
            case.close_all(f"d{node}", grad_pairs(m, node, named))


def main():
    r = Report()
    r.run("encoder h_n -> decoder h0 -> attention -> dense -> mse", encoder_decoder_case)
    r.run("x -> [gru(x), x] -> mean_time -> dense -> mae", shared_input_case)
    r.exit()


if __name__ == "__main__":
    main()
