"""test_lstm_parity.py — seqattn's LSTM against torch.nn.LSTM(batch_first=True).

Each case copies torch's parameters into seqattn by name, runs both on the same
inputs and upstream gradients, and compares outputs, h_n and c_n (through the
sa_rnn_final_state / sa_rnn_final_cell ports), the input, h0 and c0 gradients
and every parameter gradient. Sizes are odd (I=7, H=33, B=3, T=17) so that a
transposed or mis-strided buffer cannot line up by accident.
Exit code 0 when every case passes, 1 otherwise.
"""
from parity_check import VALUE, Report, require_torch

torch = require_torch()

import sa_ctypes as sa  # noqa: E402
from torch_bridge import (build, grad_pairs, load_params, np32, per_sample, torch_rnn,  # noqa: E402
                          valid_mask)

I, H, B, T = 7, 33, 3, 17
LENS = [17, 11, 5]
NODE = "lstm0"  # default name of the first LSTM of a graph (header: "<kind><k>")


def lstm_case(case, layers, bidir, init=(), seq=True, seed_ports=False, lengths=None, seed=0, inp=I):
    """init: which of "h0", "c0" come from input nodes (torch gets zeros for a
    missing one); seq: return_sequences; seed_ports: also back-propagate random
    gradients into the h_n and c_n ports."""
    torch.manual_seed(seed)
    D = 2 if bidir else 1
    LD = layers * D
    ref = torch.nn.LSTM(inp, H, layers, batch_first=True, bidirectional=bidir)
    named = dict(ref.named_parameters())

    g = sa.Graph()
    xn = g.input("x", inp)
    h0n = g.input("h0", LD * H) if "h0" in init else None
    c0n = g.input("c0", LD * H) if "c0" in init else None
    lstm = g.lstm(xn, H, layers, bidir, seq, h0n, c0n)
    hs, cs = g.final_state(lstm), g.final_cell(lstm)
    with build(g) as model:
        load_params(case, model, {NODE: named})
        x = torch.randn(B, T, inp, requires_grad=True)
        h0 = (0.5 * torch.randn(LD, B, H)).requires_grad_() if "h0" in init else torch.zeros(LD, B, H)
        c0 = torch.randn(LD, B, H).requires_grad_() if "c0" in init else torch.zeros(LD, B, H)

        out, (hn, cn) = torch_rnn(ref, x, (h0, c0) if init else None, lengths)
        y_ref = out if seq else per_sample(hn[-D:])  # top layer: forward then reverse state
        G = torch.randn(y_ref.shape)
        if seq:  # padded steps have no value, so no upstream gradient either
            G *= valid_mask(lengths, B, T)[..., None]
        Gh, Gc = torch.randn(B, 1, LD * H), torch.randn(B, 1, LD * H)
        loss = (y_ref * G).sum()
        if seed_ports:
            loss = loss + (per_sample(hn) * Gh).sum() + (per_sample(cn) * Gc).sum()
        loss.backward()

        model.set_input(xn, np32(x), lengths)
        if h0n is not None:
            model.set_input(h0n, np32(per_sample(h0)))
        if c0n is not None:
            model.set_input(c0n, np32(per_sample(c0)))
        model.forward(train=True)
        y = model.output(lstm)
        model.backward_from({lstm: np32(G), hs: np32(Gh), cs: np32(Gc)} if seed_ports else {lstm: np32(G)})

        case.close("out", y, np32(y_ref), VALUE)
        if seq and lengths is not None:
            pad = ~valid_mask(lengths, B, T).numpy()
            case.expect("pad=0", (y[pad] == 0).all(), "outputs at padded steps are not exactly 0")
        case.close("h_n", model.output(hs), np32(per_sample(hn)), VALUE)
        case.close("c_n", model.output(cs), np32(per_sample(cn)), VALUE)
        case.close("dx", model.grad(xn), np32(x.grad))
        if h0n is not None:
            case.close("dh0", model.grad(h0n), np32(per_sample(h0.grad)))
        if c0n is not None:
            case.close("dc0", model.grad(c0n), np32(per_sample(c0.grad)))
        case.close_all("dW", grad_pairs(model, NODE, named))


def main():
    r = Report()
    r.run("(a) 1 layer defaults", lstm_case, 1, False)
    r.run("(b) 2 layers bidir h0 c0 lengths", lstm_case, 2, True, init=("h0", "c0"), lengths=LENS)
    r.run("(c) 2 layers bidir h0 c0 lengths, last state + seeded h_n/c_n ports", lstm_case, 2, True,
          init=("h0", "c0"), seq=False, seed_ports=True, lengths=LENS)
    r.run("(d) 1 layer defaults, last state + seeded h_n/c_n ports", lstm_case, 1, False, seq=False,
          seed_ports=True)
    r.run("(e) 2 layers uni c0 only, lengths unsorted, seeded ports", lstm_case, 2, False, init=("c0",),
          seed_ports=True, lengths=[5, 17, 11])
    # the input projection formed in the cells (8 features or fewer) or by one GEMM (9 or more)
    r.run("(h) 2 layers bidir h0 c0 lengths, I=1", lstm_case, 2, True, init=("h0", "c0"), lengths=LENS, inp=1)
    r.run("(i) 1 layer lengths, I=9", lstm_case, 1, False, lengths=LENS, inp=9)
    r.exit()


if __name__ == "__main__":
    main()
