"""test_gru_parity.py — seqattn's GRU against torch.nn.GRU(batch_first=True).

Each case copies torch's parameters into seqattn by name, runs both on the same
inputs and upstream gradients, and compares outputs, h_n, the input and h0
gradients and every parameter gradient. Sizes are odd (I=7, H=33, B=3, T=17) so
that a transposed or mis-strided buffer cannot line up by accident.
Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()

import sa_ctypes as sa  # noqa: E402
from torch_bridge import (build, grad_pairs, load_params, np32, per_sample, torch_gru,  # noqa: E402
                          valid_mask)

I, H, B, T = 7, 33, 3, 17
LENS = [17, 11, 5]
NODE = "gru0"  # default name of the first GRU of a graph (header: "<kind><k>")


def gru_case(case, layers, bidir, h0=False, seq=True, port=True, seed_port=False,
             runs=((B, T, None),), seed=0, inp=I):
    """seq: return_sequences; port: read h_n from sa_rnn_final_state;
    seed_port: also back-propagate a random gradient into that port;
    runs: (B, T, lengths) of successive passes through the same model."""
    torch.manual_seed(seed)
    D = 2 if bidir else 1
    ref = torch.nn.GRU(inp, H, layers, batch_first=True, bidirectional=bidir)
    named = dict(ref.named_parameters())

    g = sa.Graph()
    xn = g.input("x", inp)
    h0n = g.input("h0", layers * D * H) if h0 else None
    gru = g.gru(xn, H, layers, bidir, seq, h0n)
    fs = g.final_state(gru) if port else None
    with build(g) as model:
        load_params(case, model, {NODE: named})
        for k, (nb, nt, lengths) in enumerate(runs):
            tag = f"#{k}" if len(runs) > 1 else ""
            ref.zero_grad()
            model.zero_grad()
            x = torch.randn(nb, nt, inp, requires_grad=True)
            hx = (0.5 * torch.randn(layers * D, nb, H)).requires_grad_() if h0 else None

            out, hn = torch_gru(ref, x, hx, lengths)
            y_ref = out if seq else per_sample(hn[-D:])  # top layer: forward then reverse state
            G = torch.randn(y_ref.shape)
            if seq:  # padded steps have no value, so no upstream gradient either
                G *= valid_mask(lengths, nb, nt)[..., None]
            Gh = torch.randn(nb, 1, layers * D * H) if seed_port else None
            loss = (y_ref * G).sum() + ((per_sample(hn) * Gh).sum() if seed_port else 0)
            loss.backward()

            model.set_input(xn, np32(x), lengths)
            if h0:
                model.set_input(h0n, np32(per_sample(hx)))
            model.forward(train=True)
            y = model.output(gru)
            model.backward_from({gru: np32(G), fs: np32(Gh)} if seed_port else {gru: np32(G)})

            case.close("out" + tag, y, np32(y_ref), VALUE)
            if seq and lengths is not None:
                pad = ~valid_mask(lengths, nb, nt).numpy()
                case.expect("pad=0" + tag, (y[pad] == 0).all(), "outputs at padded steps are not exactly 0")
            if port:
                case.close("h_n" + tag, model.output(fs), np32(per_sample(hn)), VALUE)
            elif D == 1 and lengths is None and seq:  # no port: h_n is the last output step
                case.close("h_n" + tag, y[:, -1], np32(hn[-1]), VALUE)
            case.close("dx" + tag, model.grad(xn), np32(x.grad))
            if h0:
                case.close("dh0" + tag, model.grad(h0n), np32(per_sample(hx.grad)))
            case.close_all("dW" + tag, grad_pairs(model, NODE, named))


def main():
    r = Report()
    r.run("(a) 1 layer uni", gru_case, 1, False, port=False)
    r.run("(b) 2 layers bidir", gru_case, 2, True)
    r.run("(c) 2 layers bidir h0", gru_case, 2, True, h0=True)
    r.run("(d) 2 layers bidir h0 lengths", gru_case, 2, True, h0=True, runs=[(B, T, LENS)])
    r.run("(e) 2 layers bidir h0 lengths, last state + seeded h_n port", gru_case, 2, True, h0=True,
          seq=False, seed_port=True, runs=[(B, T, LENS)])
    r.run("(f) 2 layers uni lengths, last state", gru_case, 2, False, seq=False,
          runs=[(B, T, [5, 17, 11])])
    # B and T are chosen per call: one model, growing and shrinking shapes, lengths on and off
    r.run("(g) one model, B,T = 3,17 / 5,4 / 2,23 / 3,17", gru_case, 2, True, h0=True,
          runs=[(B, T, LENS), (5, 4, None), (2, 23, [9, 23]), (B, T, [1, 17, 2])])
    # the input projection formed in the cells (8 features or fewer) or by one GEMM (9 or more)
    r.run("(h) 2 layers bidir lengths, I=1", gru_case, 2, True, runs=[(B, T, LENS)], inp=1)
    r.run("(i) 1 layer uni lengths, I=9", gru_case, 1, False, runs=[(B, T, LENS)], inp=9)
    r.exit()


if __name__ == "__main__":
    main()
