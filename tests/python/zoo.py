"""zoo.py — one graph that uses every builder call, with the expected shape of
each node, shared by the build/run tests."""
import numpy as np

import seqattn

B, T, F = 3, 7, 5


def build_zoo():
    """@return (graph, nodes, expected) — nodes: {label: Node}; expected:
    {label: (B, T, F) after a forward with B=3, T=7}."""
    g = seqattn.Graph()
    n, e = {}, {}

    def add(label, node, shape):
        n[label], e[label] = node, shape
        return node

    x = add("x", g.input("x", F), (B, T, F))
    h0 = add("h0", g.input("h0", 3), (B, 1, 3))
    target = add("target", g.input("target", 1), (B, 1, 1))
    d = add("dense", g.dense(x, 6, name="proj"), (B, T, 6))
    add("tanh", g.tanh(d), (B, T, 6))
    add("sigmoid", g.sigmoid(d), (B, T, 6))
    add("relu", g.relu(d), (B, T, 6))
    add("gelu", g.gelu(d), (B, T, 6))
    a = add("act", g.act(d, "tanh"), (B, T, 6))
    ln = add("layer_norm", g.layer_norm(a, eps=1e-5), (B, T, 6))
    dr = add("dropout", g.dropout(ln, 0.1), (B, T, 6))
    ps = add("posenc_sin", g.posenc_sinusoidal(dr), (B, T, 6))
    pl = add("posenc_learned", g.posenc_learned(ps, max_len=16), (B, T, 6))
    gru = add("gru", g.gru(pl, hidden=4, num_layers=2, bidirectional=True, name="gru"), (B, T, 8))
    add("gru_state", g.final_state(gru), (B, 1, 16))
    lstm = add("lstm", g.lstm(x, hidden=3, peephole=True, return_sequences=False, name="lstm"), (B, 1, 3))
    add("lstm_state", g.final_state(lstm), (B, 1, 3))
    add("lstm_cell", g.final_cell(lstm), (B, 1, 3))
    lstm2 = add("lstm_h0", g.lstm(x, hidden=3, initial_state=h0, initial_cell=h0), (B, T, 3))
    add("gru_h0", g.gru(x, hidden=3, initial_state=h0), (B, T, 3))
    ap = add("pool_additive", g.attention_pool(gru, score="additive", name="attn"), (B, 1, 8))
    add("pool_tanh", g.attention_pool(gru, score="tanh"), (B, 1, 8))
    add("pool_linear", g.attention_pool(gru, score="linear"), (B, 1, 8))
    mt = add("mean_time", g.mean_time(gru), (B, 1, 8))
    ls = add("last_step", g.last_step(gru), (B, 1, 8))
    add("concat", g.concat(ap, mt, ls), (B, 1, 24))
    add("concat_list", g.concat([ap, mt]), (B, 1, 16))
    add("slice_time", g.slice_time(gru, 1, 3), (B, 3, 8))
    sf = add("slice_features", g.slice_features(gru, 2, 4), (B, T, 4))
    rp = add("repeat_time", g.repeat_time(ap, gru), (B, T, 8))
    ad = add("add", g.add(rp, gru), (B, T, 8))
    add("mha_self", g.mha(ad, num_heads=2, name="mha"), (B, T, 8))
    add("mha_cross", g.mha(sf, gru, lstm2, num_heads=2, causal=False, bias=False), (B, T, 4))
    add("mha_causal", g.mha(ad, ad, ad, embed_dim=8, num_heads=4, causal=True), (B, T, 8))
    add("sdpa", g.sdpa(sf, sf, gru, causal=True), (B, T, 8))
    add("sdpa_self", g.sdpa(ad), (B, T, 8))
    tb = add("block", g.transformer_block(ad, ff_dim=16, num_heads=2, name="blk"), (B, T, 8))
    tb2 = add("block_gelu", g.transformer_block(tb, ff_dim=8, num_heads=1, causal=True, activation="gelu",
                                                dropout=0.1), (B, T, 8))
    y = add("y", g.dense(g.mean_time(tb2), 1, name="head"), (B, 1, 1))
    add("mse", g.mse(y, target), (1, 1, 1))
    add("mae", g.mae(y, target), (1, 1, 1))
    return g, n, e


def zoo_inputs(rng, lengths=None):
    return {"x": (rng.standard_normal((B, T, F)).astype(np.float32), lengths),
            "h0": rng.standard_normal((B, 1, 3)).astype(np.float32),
            "target": rng.standard_normal((B, 1, 1)).astype(np.float32)}
