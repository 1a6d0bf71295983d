"""flops.py — the one place that counts a workload's FLOPs.

Every workload is described as a list of GEMM-like terms (label, M, N, K, count):
`count` products of an (M x K) by a (K x N) matrix, 2*M*N*K FLOPs each (a
multiply and an add). Only matrix products are counted: element-wise work
(gates, tanh, softmax, layer norm, Adam) is left out, so GFLOP/s figures are
"useful GEMM work per second" and read against the sgemm rate.

  forward   = sum of the terms
  inference = forward
  training  = 3 x forward   (backward ~ 2 x forward: one GEMM for the input
              gradient and one for the weight gradient per forward GEMM)

Attention scores and P V are counted in full even when causal (both libraries
compute the full T x T product and mask it). The dominant term (most FLOPs) is
the shape timed by bench/sgemm_bench.c as the machine's reference rate.

CLI: python3 flops.py WORKLOAD B T H [T_OUT]  prints the terms and totals.
"""
import sys

T_OUT = 20        # seq2seq decoder steps
HEADS = {"mha": 4, "tiny_transformer": 4}
TF_BLOCKS = 2     # tiny_transformer blocks, ff = 4 d
STACK_DENSE = 64  # lstm_stack: 2H -> 64 -> 1


def _lstm(B, T, I, H, dirs, tag):
    return [(f"{tag} x W_ih^T", B * T, 4 * H, I, dirs),
            (f"{tag} h W_hh^T (per step)", B, 4 * H, H, dirs * T)]


def _mha(B, Tq, Tk, E, heads, tag):
    d = E // heads
    return [(f"{tag} q proj", B * Tq, E, E, 1),
            (f"{tag} k,v proj", B * Tk, E, E, 2),
            (f"{tag} Q K^T (per b,head)", Tq, Tk, d, B * heads),
            (f"{tag} P V (per b,head)", Tq, d, Tk, B * heads),
            (f"{tag} out proj", B * Tq, E, E, 1)]


def terms(workload, B, T, H, t_out=T_OUT):
    """GEMM terms of one forward pass."""
    if workload == "gru_attn":
        return [("gru x W_ih^T", B * T, 3 * H, 1, 1),
                ("gru h W_hh^T (per step)", B, 3 * H, H, T),
                ("attn tanh(W h)", B * T, H, H, 1),
                ("attn v . u", B * T, 1, H, 1),
                ("attn sum a h (per b)", 1, H, T, B),
                ("dense", B, 1, H, 1)]
    if workload == "stream":  # one step of GRU(H) + dense(1)
        return [("gru x W_ih^T", B, 3 * H, 1, 1),
                ("gru h W_hh^T", B, 3 * H, H, 1),
                ("dense", B, 1, H, 1)]
    if workload == "seq2seq":
        E = 2 * H
        return (_lstm(B, T, 1, H, 2, "enc") + _lstm(B, t_out, 1, E, 1, "dec")
                + _mha(B, t_out, T, E, 1, "xattn")
                + [("dense", B * t_out, 1, 2 * E, 1)])
    if workload == "lstm_stack":
        return (_lstm(B, T, 1, H, 2, "l0") + _lstm(B, T, 2 * H, H, 2, "l1")
                + [("mean over T (per b)", 1, 2 * H, T, B),
                   ("dense 2H->64", B, STACK_DENSE, 2 * H, 1),
                   ("dense 64->1", B, 1, STACK_DENSE, 1)])
    if workload == "mha":
        return _mha(B, T, T, H, HEADS["mha"], "mha") + [("dense", B, 1, H, 1)]
    if workload == "tiny_transformer":
        out = []
        for k in range(TF_BLOCKS):
            out += _mha(B, T, T, H, HEADS["tiny_transformer"], f"blk{k}")
            out += [(f"blk{k} linear1", B * T, 4 * H, H, 1), (f"blk{k} linear2", B * T, H, 4 * H, 1)]
        return out + [("head", B * T, 1, H, 1)]
    raise ValueError(f"unknown workload {workload!r}")


def term_flops(t):
    _, M, N, K, count = t
    return 2.0 * M * N * K * count


def forward_flops(workload, B, T, H, t_out=T_OUT):
    return sum(term_flops(t) for t in terms(workload, B, T, H, t_out))


def step_flops(workload, mode, B, T, H, t_out=T_OUT):
    """FLOPs of one timed step: inference = forward, training = 3 x forward."""
    f = forward_flops(workload, B, T, H, t_out)
    return 3.0 * f if mode == "train" else f


def dominant_gemm(workload, B, T, H, t_out=T_OUT):
    """(label, M, N, K) of the term with the most FLOPs."""
    label, M, N, K, _ = max(terms(workload, B, T, H, t_out), key=term_flops)
    return label, M, N, K


if __name__ == "__main__":
    w, B, T, H = sys.argv[1], *map(int, sys.argv[2:5])
    to = int(sys.argv[5]) if len(sys.argv) > 5 else T_OUT
    for t in terms(w, B, T, H, to):
        print(f"{t[0]:28s} M={t[1]:<7d} N={t[2]:<6d} K={t[3]:<6d} x{t[4]:<6d} {term_flops(t) / 1e6:10.2f} MFLOP")
    print(f"forward {forward_flops(w, B, T, H, to) / 1e6:.2f} MFLOP; dominant: {dominant_gemm(w, B, T, H, to)}")
