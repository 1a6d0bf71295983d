"""torch_bridge.py — the torch side of the conventions the parity scripts
share: parameters moved by name, the length mask, and the GRU/LSTM layouts
(PackedSequence for lengths, per-sample h_n and c_n). Kept here so each script only
builds graphs and compares numbers.

seqattn names parameters "<node name>.<param>" with torch's shapes, so a torch
name maps to exactly one seqattn tensor; a shape mismatch raises on copy.
"""
import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import sa_ctypes as sa


def build(graph, seed=42):
    """Model from a graph; the graph is freed (the model keeps a copy)."""
    try:
        return sa.Model(graph, seed)
    finally:
        graph.free()


def load_params(case, model, groups):
    """Copies torch tensors into the model: groups is {node name: {param: tensor}},
    seqattn name '<node>.<param>'. Also checks the model has exactly those
    parameters, so that no seqattn parameter keeps its own random initial value."""
    want = {f"{node}.{n}" for node, named in groups.items() for n in named}
    got = set(model.param_names())
    case.expect("names", got == want, f"seqattn-only {sorted(got - want)}, torch-only {sorted(want - got)}")
    for node, named in groups.items():
        for n, t in named.items():
            val, _ = model.param(f"{node}.{n}")
            val[...] = t.detach().numpy()  # a shape mismatch raises here


def grad_pairs(model, node, named):
    """{name: (seqattn gradient, torch .grad)} for close_all()."""
    return {n: (model.param(f"{node}.{n}")[1].copy(), t.grad.numpy()) for n, t in named.items()}


def valid_mask(lengths, B, T):
    """[B, T] bool, True at each sample's valid steps (all steps without lengths)."""
    if lengths is None:
        return torch.ones(B, T, dtype=torch.bool)
    return torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]


def torch_rnn(ref, x, hx, lengths):
    """torch GRU/LSTM output (padded to x's T) and h_n (LSTM: (h_n, c_n); hx is then
    None or (h0, c0)); lengths go through a PackedSequence, which is what seqattn's
    lengths mean."""
    if lengths is None:
        return ref(x, hx)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, hn = ref(packed, hx)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], hn


torch_gru = torch_rnn


def per_sample(state):
    """(L*D, B, H) -> [B, 1, L*D*H], the layout of seqattn's h0 and final-state port."""
    return state.permute(1, 0, 2).reshape(state.shape[1], 1, -1)


def np32(t):
    return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)
