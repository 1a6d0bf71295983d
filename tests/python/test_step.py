"""Step execution equals the full-sequence forward."""
import numpy as np
import pytest

import seqattn


def run_steps(m, stepped, data, outputs, other=None):
    """Steps through data [B, T, F] one step at a time; returns {node: [B, T, F]}."""
    m.step_begin(stepped)
    assert m.step_position == 0
    if other:
        m.set_inputs(other)
    got = {n: [] for n in outputs}
    for t in range(data.shape[1]):
        m.step({stepped: data[:, t:t + 1]})
        assert m.step_position == t + 1
        for n in outputs:
            got[n].append(m.output(n))
    return {n: np.concatenate(v, axis=1) for n, v in got.items()}


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_steps_equal_full_forward(rng, cell):
    g = seqattn.Graph()
    x = g.input("x", 3)
    h = getattr(g, cell)(x, hidden=6, num_layers=2)
    y = g.dense(g.tanh(h), 2)
    m = seqattn.Model(g, seed=5)
    xs = rng.standard_normal((2, 9, 3)).astype(np.float32)
    m.forward(inputs={x: xs})
    full = m.output(y)
    assert m.step_position is None
    got = run_steps(m, x, xs, [y])
    np.testing.assert_allclose(got[y], full, rtol=1e-5, atol=1e-6)


def test_decoder_with_static_encoder_and_causal_attention(rng):
    g = seqattn.Graph()
    enc_in = g.input("enc", 4)
    dec_in = g.input("dec", 1)
    enc = g.gru(enc_in, hidden=8, name="encoder")
    state = g.final_state(enc)
    d = g.dense(dec_in, 8)
    d = g.posenc_sinusoidal(d)
    blk = g.transformer_block(d, ff_dim=16, num_heads=2, causal=True, name="blk")
    dec = g.gru(blk, hidden=8, initial_state=state, name="decoder")
    cross = g.mha(dec, enc, enc, num_heads=2, name="cross")
    y = g.dense(g.concat(dec, cross), 1, name="head")
    m = seqattn.Model(g, seed=8)
    enc_x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    dec_x = rng.standard_normal((3, 5, 1)).astype(np.float32)
    m.forward(inputs={enc_in: enc_x, dec_in: dec_x})
    full_y, full_a = m.output(y), m.attention(cross, heads="all")
    got = run_steps(m, dec_in, dec_x, [y], other={enc_in: enc_x})
    np.testing.assert_allclose(got[y], full_y, rtol=1e-5, atol=1e-5)
    assert m.attention(cross, heads="all").shape == (3, 2, 1, 7)
    np.testing.assert_allclose(m.attention(cross, heads="all")[:, :, 0], full_a[:, :, -1], rtol=1e-5, atol=1e-6)
    # a changed static input needs a new step_begin
    m.set_input(enc_in, enc_x + 1)
    with pytest.raises(seqattn.StateError):
        m.step({dec_in: dec_x[:, :1]})
    # step_begin again restarts from the first position
    got2 = run_steps(m, dec_in, dec_x, [y], other={enc_in: enc_x})
    np.testing.assert_array_equal(got2[y], got[y])
    # stepping is inference only; forward leaves step execution
    with pytest.raises(seqattn.StateError):
        m.backward_from({y: np.ones((3, 1, 1))})
    m.forward(inputs={enc_in: enc_x, dec_in: dec_x})
    assert m.step_position is None


def test_stepped_input_must_have_one_step(rng):
    g = seqattn.Graph()
    x = g.input("x", 2)
    g.lstm(x, hidden=3)
    m = seqattn.Model(g)
    m.step_begin([x])
    with pytest.raises(seqattn.ShapeError, match="T=1"):
        m.step({x: np.ones((1, 2, 2))})
