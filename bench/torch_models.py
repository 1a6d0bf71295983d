"""torch_models.py — the benchmark workloads as torch modules, the same models
as bench/sa_models.c (same parameter counts: torch_bench.py reports them and
report.py checks they agree). Inputs and outputs are batch-first."""
import math

import torch
from torch import nn


class AdditiveAttention(nn.Module):
    """SimpleAttention pooling: e_t = v^T tanh(W h_t + b), a = softmax_t(e), ctx = sum_t a_t h_t."""

    def __init__(self, F):
        super().__init__()
        self.W = nn.Linear(F, F)
        self.v = nn.Parameter(torch.empty(F).uniform_(-1 / math.sqrt(F), 1 / math.sqrt(F)))

    def forward(self, h):                        # h [B, T, F]
        e = torch.tanh(self.W(h)) @ self.v       # [B, T]
        a = torch.softmax(e, dim=1)
        return torch.bmm(a.unsqueeze(1), h)      # [B, 1, F]


class GruAttn(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.gru = nn.GRU(1, H, batch_first=True)
        self.attn = AdditiveAttention(H)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.head(self.attn(h))           # [B, 1, 1]


class Seq2Seq(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.enc = nn.LSTM(1, H, bidirectional=True, batch_first=True)
        self.dec = nn.LSTM(1, 2 * H, batch_first=True)
        self.xattn = nn.MultiheadAttention(2 * H, 1, batch_first=True)
        self.head = nn.Linear(4 * H, 1)

    def forward(self, past, dec_in):
        enc, (h, c) = self.enc(past)             # h, c [2, B, H]
        h0 = torch.cat([h[0], h[1]], -1).unsqueeze(0)
        c0 = torch.cat([c[0], c[1]], -1).unsqueeze(0)
        dec, _ = self.dec(dec_in, (h0, c0))      # teacher forcing: dec_in is given
        ctx, _ = self.xattn(dec, enc, enc, need_weights=False)
        return self.head(torch.cat([dec, ctx], -1))  # [B, T_out, 1]


class LstmStack(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.lstm = nn.LSTM(1, H, num_layers=2, bidirectional=True, batch_first=True)
        self.l1 = nn.Linear(2 * H, 64)
        self.l2 = nn.Linear(64, 1)

    def forward(self, x):
        h, _ = self.lstm(x)
        m = h.mean(1, keepdim=True)
        return torch.sigmoid(self.l2(torch.relu(self.l1(m))))  # [B, 1, 1]


class Mha(nn.Module):
    def __init__(self, E):
        super().__init__()
        self.mha = nn.MultiheadAttention(E, 4, batch_first=True)
        self.head = nn.Linear(E, 1)

    def forward(self, x):
        y, _ = self.mha(x, x, x, need_weights=False)
        return self.head(y.mean(1, keepdim=True))   # [B, 1, 1]


class TinyTransformer(nn.Module):
    def __init__(self, d, T):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(2))
        self.head = nn.Linear(d, 1)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), diagonal=1))

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x, src_mask=self.mask)
        return self.head(x)                      # [B, T, 1]


class Stream(nn.Module):
    """GRU cell + dense(1), one step with the state carried by the caller."""

    def __init__(self, H):
        super().__init__()
        self.cell = nn.GRUCell(1, H)
        self.head = nn.Linear(H, 1)

    def forward(self, x, h):                     # x [B, 1], h [B, H]
        h = self.cell(x, h)
        return self.head(h), h


def build(workload, B, T, H, t_out, train):
    """(module, inputs, target or None); target is None for inference."""
    g = torch.Generator().manual_seed(12345)
    rnd = lambda *shape: torch.randn(*shape, generator=g)
    if workload == "gru_attn":
        m, xs, ty = GruAttn(H), [rnd(B, T, 1)], rnd(B, 1, 1)
    elif workload == "seq2seq":
        m, xs, ty = Seq2Seq(H), [rnd(B, T, 1), rnd(B, t_out, 1)], rnd(B, t_out, 1)
    elif workload == "lstm_stack":
        m, xs, ty = LstmStack(H), [rnd(B, T, 1)], 0.5 + 0.1 * rnd(B, 1, 1)
    elif workload == "mha":
        m, xs, ty = Mha(H), [rnd(B, T, H)], rnd(B, 1, 1)
    elif workload == "tiny_transformer":
        m, xs, ty = TinyTransformer(H, T), [rnd(B, T, H)], rnd(B, T, 1)
    elif workload == "stream":
        m, xs, ty = Stream(H), [rnd(B, 1), torch.zeros(B, H)], None
    else:
        raise SystemExit(f"torch_bench: unknown workload {workload!r}")
    m.train(train)
    return m, xs, (ty if train else None)
