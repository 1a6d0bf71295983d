"""Attention weights: shapes, sums, masks, heads."""
import numpy as np
import pytest

import seqattn


def test_pooling_weights_sum_to_one_over_valid_steps(rng):
    g = seqattn.Graph()
    x = g.input("x", 3)
    h = g.gru(x, hidden=5)
    c = g.attention_pool(h, score="tanh")
    m = seqattn.Model(g)
    lens = [6, 3, 1]
    m.forward(inputs={x: (rng.standard_normal((3, 6, 3)), lens)})
    a = m.attention(c)
    assert a.shape == (3, 1, 1, 6)
    np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-6)
    for b, n in enumerate(lens):
        assert np.all(a[b, 0, 0, n:] == 0) and np.all(a[b, 0, 0, :n] > 0)
    np.testing.assert_array_equal(m.attention(c, heads="all"), a)
    # context = Σ α_t h_t
    np.testing.assert_allclose(m.output(c)[:, 0], np.einsum("bt,btf->bf", a[:, 0, 0], m.output(h)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_mha_heads_all_and_mean(rng, causal):
    g = seqattn.Graph()
    q = g.input("q", 8)
    kv = g.input("kv", 6)
    self_attn = g.mha(q, num_heads=4, causal=causal)
    cross = g.mha(q, kv, kv, num_heads=2)
    m = seqattn.Model(g)
    m.forward(inputs={q: (rng.standard_normal((2, 5, 8)), [5, 4]), kv: (rng.standard_normal((2, 7, 6)), [7, 2])})
    a = m.attention(self_attn, heads="all")
    assert a.shape == (2, 4, 5, 5)
    np.testing.assert_allclose(m.attention(self_attn, heads="mean"), a.mean(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
    assert np.all(a[1, :, :, 4] == 0)          # key padding of sample 1
    np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-5)
    if causal:
        assert np.all(np.triu(np.ones((5, 5)), 1)[None, None] * a == 0)
    c = m.attention(cross, heads="all")
    assert c.shape == (2, 2, 5, 7) and m.attention(cross).shape == (2, 1, 5, 7)
    assert np.all(c[1, :, :, 2:] == 0)
    np.testing.assert_allclose(c.sum(-1), 1.0, rtol=1e-5)


def test_sdpa_and_transformer_block_attention(rng):
    g = seqattn.Graph()
    x = g.input("x", 4)
    s = g.sdpa(x, causal=True)
    blk = g.transformer_block(x, ff_dim=8, num_heads=2, name="enc")
    m = seqattn.Model(g)
    m.forward(inputs={x: rng.standard_normal((3, 6, 4))})
    a = m.attention(s, heads="all")
    assert a.shape == (3, 1, 6, 6)
    np.testing.assert_allclose(a[0, 0, 0], [1, 0, 0, 0, 0, 0], atol=1e-7)
    # sdpa by hand: softmax(q kᵀ / √F) v with a causal mask
    xs = m.output(x)
    scores = xs @ xs.transpose(0, 2, 1) / 2.0 + np.triu(np.full((6, 6), -np.inf), 1)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    np.testing.assert_allclose(a[:, 0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.output(s), w @ xs, rtol=1e-5, atol=1e-6)
    sa = m.find_node("enc.self_attn")
    assert m.attention(sa, heads="all").shape == (3, 2, 6, 6)
    assert m.output(blk).shape == (3, 6, 4)
