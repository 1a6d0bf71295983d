"""need.py — the one place that counts what a workload's backward strictly needs.

"Strictly needs" = the tensors a training forward must keep for backward,
each counted once, at 4 bytes per float:
  - a recurrent layer, per direction and step: its gate activations (GRU: r, z,
    n and W_hn h + b_hn, 4 H; LSTM: i, f, g, o and c', 5 H) and its output h
    (the next layer's input and the W_hh gradient's operand);
  - a linear map: its input (for the weight gradient), counted where that
    input is produced;
  - attention: Q, K, V, the weights P (B x heads x Tq x Tk) and the context
    (the output projection's input); additive pooling: tanh(W h + b), the
    weights and the pooled vector;
  - layer norm: its output and 1/sigma per row; ReLU: its output;
  - the prediction (the loss reads it).
Not counted: the model's own inputs and targets (seqattn holds those apart, in
sa_memory_info.inputs), copies (concatenation), gradients, parameters and
optimizer state. seqattn's figure compared with this one is everything its
arena holds in training: node values + layer workspaces + node gradients.

CLI: python3 need.py WORKLOAD B T H [T_OUT]  prints the terms and the total.
"""
import sys

from flops import HEADS, STACK_DENSE, T_OUT, TF_BLOCKS


def _rnn(B, T, H, dirs, gates, tag):
    return [(f"{tag} gates ({gates} H per step, dir)", dirs * B * T * gates * H),
            (f"{tag} output h", B * T * dirs * H)]


def _attention(B, Tq, Tk, E, heads, tag):
    return [(f"{tag} Q", B * Tq * E), (f"{tag} K, V", 2 * B * Tk * E),
            (f"{tag} weights P", B * heads * Tq * Tk), (f"{tag} context", B * Tq * E)]


def terms(workload, B, T, H, t_out=T_OUT):
    """(label, floats) of what backward reads."""
    if workload == "gru_attn":
        return _rnn(B, T, H, 1, 4, "gru") + [
            ("attn tanh(W h + b)", B * T * H), ("attn weights", B * T), ("attn pooled", B * H),
            ("prediction", B)]
    if workload == "seq2seq":
        E = 2 * H
        return (_rnn(B, T, H, 2, 5, "enc") + _rnn(B, t_out, E, 1, 5, "dec")
                + _attention(B, t_out, T, E, 1, "xattn") + [("prediction", B * t_out)])
    if workload == "lstm_stack":
        return (_rnn(B, T, H, 2, 5, "l0") + _rnn(B, T, H, 2, 5, "l1")
                + [("mean over T", B * 2 * H), ("dense relu output", B * STACK_DENSE), ("prediction", B)])
    if workload == "mha":
        return _attention(B, T, T, H, HEADS["mha"], "mha") + [("mean over T", B * H), ("prediction", B)]
    if workload == "tiny_transformer":
        out = []
        for k in range(TF_BLOCKS):
            out += [(f"blk{k} norm1 output, 1/sigma", B * T * (H + 1))]
            out += _attention(B, T, T, H, HEADS["tiny_transformer"], f"blk{k}")
            out += [(f"blk{k} norm2 output, 1/sigma", B * T * (H + 1)), (f"blk{k} relu output", B * T * 4 * H)]
        # a block's output feeds the next block's norm, which keeps its own
        # output; only the last one is read again (by the head's weight gradient)
        return out + [("head input", B * T * H), ("prediction", B * T)]
    return None  # latency workloads: inference only


def need_bytes(workload, B, T, H, t_out=T_OUT):
    """Bytes backward strictly needs, or None for a workload without training."""
    t = terms(workload, B, T, H, t_out)
    return None if t is None else 4 * sum(n for _, n in t)


if __name__ == "__main__":
    w, B, T, H = sys.argv[1], *map(int, sys.argv[2:5])
    to = int(sys.argv[5]) if len(sys.argv) > 5 else T_OUT
    for label, n in terms(w, B, T, H, to) or []:
        print(f"{label:36s} {4 * n / 2**20:9.2f} MB")
    nb = need_bytes(w, B, T, H, to)
    print("no training workload" if nb is None else f"total {nb / 2**20:.2f} MB")
