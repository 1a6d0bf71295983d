"""PyTorch -> seqattn: the same model built in torch and in seqattn, torch's
state_dict loaded into seqattn (directly, and through a safetensors file when
the library has the persistence API), identical outputs."""
import numpy as np
import pytest

import seqattn
from safetensors_io import load_file, save_file

torch = pytest.importorskip("torch")
nn = torch.nn


def close(got, want, rtol=1e-5, atol=1e-6):
    """|got - want| <= atol + rtol * max|want| (float32 noise scales with the tensor)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    err = float(np.abs(got - want).max())
    bound = atol + rtol * float(np.abs(want).max())
    assert err <= bound, f"max err {err:.3e} > {bound:.3e}"


class AdditiveAttention(nn.Module):
    """seqattn's attention_pool(score="additive"): e_t = vᵀ tanh(W h_t + b)."""

    def __init__(self, F):
        super().__init__()
        k = 1 / F ** 0.5
        self.weight = nn.Parameter(torch.empty(F, F).uniform_(-k, k))
        self.bias = nn.Parameter(torch.empty(F).uniform_(-k, k))
        self.v = nn.Parameter(torch.empty(F).uniform_(-k, k))

    def forward(self, h, lengths):
        e = torch.tanh(h @ self.weight.T + self.bias) @ self.v           # (B, T)
        valid = torch.arange(h.shape[1])[None, :] < lengths[:, None]
        alpha = torch.softmax(e.masked_fill(~valid, float("-inf")), dim=1)
        return (alpha[..., None] * h).sum(1, keepdim=True), alpha        # (B, 1, F)


class GruAttention(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.gru = nn.GRU(1, H, batch_first=True)
        self.attn = AdditiveAttention(H)
        self.head = nn.Linear(H, 1)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        c, alpha = self.attn(h, lengths)
        return self.head(c), alpha


def seqattn_gru_attention(H):
    g = seqattn.Graph()
    x = g.input("x", 1)
    h = g.gru(x, hidden=H, name="gru")
    c = g.attention_pool(h, score="additive", name="attn")
    y = g.dense(c, 1, name="head")
    t = g.input("target", 1)
    L = g.mse(y, t)
    return g, x, c, y, t, L


class LstmMhaTransformer(nn.Module):
    def __init__(self, I, H, heads, ff):
        super().__init__()
        E = 2 * H
        self.lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
        self.mha = nn.MultiheadAttention(E, heads, batch_first=True)
        self.norm = nn.LayerNorm(E)
        self.blk = nn.TransformerEncoderLayer(E, heads, dim_feedforward=ff, dropout=0.0, activation="gelu",
                                              norm_first=True, batch_first=True)
        self.head = nn.Linear(E, 2)

    def forward(self, x, lengths):
        T = x.shape[1]
        pad = torch.arange(T)[None, :] >= lengths[:, None]
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=T)
        a, w = self.mha(h, h, h, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
        z = self.blk(self.norm(a + h), src_key_padding_mask=pad)
        mean = z.masked_fill(pad[..., None], 0).sum(1, keepdim=True) / lengths[:, None, None]
        return self.head(mean), h, w, ~pad


def seqattn_lstm_mha_transformer(I, H, heads, ff):
    g = seqattn.Graph()
    x = g.input("x", I)
    h = g.lstm(x, hidden=H, num_layers=2, bidirectional=True, name="lstm")
    a = g.mha(h, num_heads=heads, name="mha")
    n = g.layer_norm(g.add(a, h), name="norm")
    z = g.transformer_block(n, ff_dim=ff, num_heads=heads, activation="gelu", name="blk")
    y = g.dense(g.mean_time(z), 2, name="head")
    return g, x, h, a, y


def test_gru_attention_from_torch_state_dict(rng):
    torch.manual_seed(0)
    H, B, T = 13, 4, 11
    tm = GruAttention(H)
    g, x, c, y, t, L = seqattn_gru_attention(H)
    m = seqattn.Model(g, seed=1)
    assert set(m.param_names()) == set(tm.state_dict())
    m.load_state_dict(tm.state_dict())            # torch tensors go straight in

    xs = rng.standard_normal((B, T, 1)).astype(np.float32)
    ys = rng.standard_normal((B, 1, 1)).astype(np.float32)
    lengths = np.array([11, 4, 7, 1])
    want, alpha = tm(torch.tensor(xs), torch.tensor(lengths))
    m.forward(train=True, inputs={x: (xs, lengths), t: ys})
    close(m.output(y), want.detach().numpy())
    close(m.attention(c)[:, 0, 0], alpha.detach().numpy())

    # gradients of the MSE loss, parameters and input
    xt = torch.tensor(xs, requires_grad=True)
    loss = ((tm(xt, torch.tensor(lengths))[0] - torch.tensor(ys)) ** 2).mean()
    loss.backward()
    close(m.output(L)[0, 0, 0], loss.item())
    m.backward(L)
    for name, p in tm.named_parameters():
        close(m.param_grad(name), p.grad.numpy(), rtol=1e-4, atol=1e-8)
    dx = m.grad(x)
    close(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-8)


def test_lstm_mha_transformer_from_torch_state_dict(rng):
    torch.manual_seed(1)
    I, H, heads, ff, B, T = 3, 5, 2, 12, 3, 9
    tm = LstmMhaTransformer(I, H, heads, ff).eval()
    g, x, h, a, y = seqattn_lstm_mha_transformer(I, H, heads, ff)
    m = seqattn.Model(g)
    sd = tm.state_dict()
    assert set(m.param_names()) == set(sd), set(m.param_names()) ^ set(sd)
    m.load_state_dict(sd)
    xs = rng.standard_normal((B, T, I)).astype(np.float32)
    lengths = np.array([9, 5, 2])
    want, th, tw, valid = tm(torch.tensor(xs), torch.tensor(lengths))  # grad enabled: no fast path
    m.forward(inputs={x: (xs, lengths)})
    close(m.output(y), want.detach().numpy())
    v = valid.numpy()
    close(m.output(h)[v], th.detach().numpy()[v])
    got_w = m.attention(a, heads="all")
    close(got_w.transpose(0, 2, 1, 3)[v], tw.detach().numpy().transpose(0, 2, 1, 3)[v])


@pytest.mark.skipif(not seqattn.has_persistence(), reason="libseqattn has no persistence API yet")
def test_torch_safetensors_into_seqattn(tmp_path, rng):
    torch.manual_seed(2)
    H, B, T = 7, 3, 8
    tm = GruAttention(H)
    path = tmp_path / "torch.safetensors"
    save_file(tm.state_dict(), path, metadata={"format": "pt"})
    g, x, c, y, t, L = seqattn_gru_attention(H)
    m = seqattn.Model(g, seed=3)
    m.load_params(path)
    xs = rng.standard_normal((B, T, 1)).astype(np.float32)
    lengths = np.array([8, 3, 5])
    want, _ = tm(torch.tensor(xs), torch.tensor(lengths))
    m.forward(inputs={x: (xs, lengths), t: np.zeros((B, 1, 1), np.float32)})
    close(m.output(y), want.detach().numpy())
    # and back: seqattn's own file reads as the same tensors
    out = tmp_path / "seqattn.safetensors"
    m.save_params(out)
    tensors, _ = load_file(out)
    assert set(tensors) == set(tm.state_dict())
    for name, p in tm.state_dict().items():
        np.testing.assert_array_equal(tensors[name], p.numpy())


@pytest.mark.skipif(not seqattn.has_persistence(), reason="libseqattn has no persistence API yet")
def test_torch_transformer_safetensors_both_ways(tmp_path, rng):
    torch.manual_seed(3)
    I, H, heads, ff, B, T = 4, 3, 3, 10, 2, 5
    tm = LstmMhaTransformer(I, H, heads, ff).eval()
    path = tmp_path / "net.safetensors"
    save_file(tm.state_dict(), path)               # nested names: blk.self_attn.out_proj.weight
    g, x, h, a, y = seqattn_lstm_mha_transformer(I, H, heads, ff)
    m = seqattn.Model(g)
    m.load_params(path)
    xs = rng.standard_normal((B, T, I)).astype(np.float32)
    lengths = np.array([5, 3])
    want = tm(torch.tensor(xs), torch.tensor(lengths))[0]
    m.forward(inputs={x: (xs, lengths)})
    close(m.output(y), want.detach().numpy())
    # seqattn -> torch: perturb in seqattn, save, load into a fresh torch module
    for v in m.params().values():
        v += 0.01
    out = tmp_path / "back.safetensors"
    m.save_params(out)
    tensors, _ = load_file(out)
    tm2 = LstmMhaTransformer(I, H, heads, ff).eval()
    tm2.load_state_dict({k: torch.tensor(v) for k, v in tensors.items()}, strict=True)
    m.forward()
    close(m.output(y), tm2(torch.tensor(xs), torch.tensor(lengths))[0].detach().numpy())
