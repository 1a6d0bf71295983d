#!/usr/bin/python3
"""gru_attention.py — the GRU + attention regressor of docs/tutorial.md, in Python.

Trains  x [B, 50, 1] -> GRU -> attention pooling (additive) -> dense -> next value
on a seeded synthetic signal (the one of examples/signal.c, made with numpy):
    x(t) = sin(2π f1 t) + 0.5 sin(2π f2 t) + α t + ε,   dt = 0.04,
with f1 in [0.5, 2], f2 in [2, 5], α in [-0.2, 0.2] and a noise std in
[0.05, 0.1] drawn per series. Series (not windows) are split into train /
validation / test; each window is fed relative to its last value and scaled
with training statistics, as the C example does.

Writes to --out DIR:
  attention.png   six test windows with their attention weights, and α of
                  many test windows as a heatmap
  metrics.json    test MSE of the model and of "repeat the last value"
and exits 1 if the model is not at least --min-ratio times better than that
baseline.

Usage: /usr/bin/python3 python/examples/gru_attention.py [--out DIR] [--seed N] [--epochs N]
The library is found as described in docs/python.md (e.g. SEQATTN_LIB=build/lib/libseqattn.so
PYTHONPATH=python).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import seqattn

PAST, DT = 50, 0.04


def make_series(rng, n_series, length):
    t = np.arange(length) * DT
    f1 = rng.uniform(0.5, 2.0, (n_series, 1))
    f2 = rng.uniform(2.0, 5.0, (n_series, 1))
    alpha = rng.uniform(-0.2, 0.2, (n_series, 1))
    noise = rng.uniform(0.05, 0.1, (n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_series, 2))
    x = (np.sin(2 * np.pi * f1 * t + phase[:, :1]) + 0.5 * np.sin(2 * np.pi * f2 * t + phase[:, 1:])
         + alpha * t + noise * rng.standard_normal((n_series, length)))
    return x.astype(np.float32)


def windows(series, stride):
    """(past [N, PAST], next [N]) of every window taken every `stride` samples."""
    starts = np.arange(0, series.shape[1] - PAST, stride)
    past = np.stack([series[:, s:s + PAST] for s in starts], axis=1).reshape(-1, PAST)
    nxt = np.stack([series[:, s + PAST] for s in starts], axis=1).reshape(-1)
    return past, nxt


def build(hidden):
    g = seqattn.Graph()
    x = g.input("x", 1)                                   # [B, 50, 1]
    h = g.gru(x, hidden=hidden, name="gru")                # [B, 50, H]
    ctx = g.attention_pool(h, score="additive", name="attn")  # [B, 1, H], keeps α
    y = g.dense(ctx, 1, name="head")                       # [B, 1, 1]
    t = g.input("target", 1)
    loss = g.mse(y, t)                                     # [1, 1, 1]
    return g, x, ctx, y, t, loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/python_gru_attention", help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--series", type=int, default=60, help="number of series (70/15/15 split)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--min-ratio", type=float, default=1.5,
                    help="fail unless baseline MSE / model MSE reaches this")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    data = make_series(rng, args.series, 300)
    n_val = n_test = max(1, round(0.15 * args.series))
    parts = {"train": data[:-n_val - n_test], "val": data[-n_val - n_test:-n_test], "test": data[-n_test:]}
    win = {k: windows(v, stride=5) for k, v in parts.items()}

    # relative to the last value, scaled with training statistics
    def prep(past, nxt):
        last = past[:, -1:]
        return (past - last)[..., None], (nxt[:, None] - last)[..., None]

    xs_tr, ys_tr = prep(*win["train"])
    s_in, s_out = float(xs_tr.std()), float(ys_tr.std())
    data_sets = {k: tuple(a / s for a, s in zip(prep(*w), (s_in, s_out))) for k, w in win.items()}

    g, x, ctx, y, t, loss = build(args.hidden)
    m = seqattn.Model(g, seed=args.seed)
    opt = seqattn.Adam(m, lr=3e-3, clip_norm=1.0)

    def evaluate(name):
        """MSE in the series' units, and the model's predictions."""
        X, Y = data_sets[name]
        m.forward(inputs={x: X, t: Y})
        pred = m.output(y)
        return float(((pred - Y) ** 2).mean()) * s_out ** 2, pred

    X, Y = data_sets["train"]
    batch, best, history = 32, (np.inf, None, -1), []
    t0 = time.time()
    for epoch in range(args.epochs):
        if epoch == int(0.8 * args.epochs):
            opt.lr = opt.lr * 0.3                          # smaller steps for the last epochs
        order = rng.permutation(len(X))
        total = 0.0
        for s in range(0, len(X), batch):
            idx = order[s:s + batch]
            m.forward(train=True, inputs={x: X[idx], t: Y[idx]})
            total += float(m.output(loss)[0, 0, 0]) * len(idx)
            m.backward(loss)
            opt.step()
            m.zero_grad()
        val, _ = evaluate("val")
        history.append({"epoch": epoch + 1, "train_mse": total / len(X) * s_out ** 2, "val_mse": val})
        print(f"epoch {epoch + 1:2d}  train {history[-1]['train_mse']:.4f}  val {val:.4f}", flush=True)
        if val < best[0]:
            best = (val, m.state_dict(), epoch + 1)
    m.load_state_dict(best[1])                             # keep the best validation epoch

    test_mse, pred = evaluate("test")
    past, nxt = win["test"]
    baseline = float(((nxt - past[:, -1]) ** 2).mean())    # "repeat the last value"
    ratio = baseline / test_mse
    alpha = m.attention(ctx)[:, 0, 0]                      # [N, 50]
    print(f"test MSE {test_mse:.4f}, repeat-last {baseline:.4f}, ratio {ratio:.2f}x "
          f"(best epoch {best[2]}, {time.time() - t0:.1f} s)")

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"test_mse": test_mse, "baseline_mse": baseline, "ratio": ratio, "best_epoch": best[2],
                   "seconds": time.time() - t0, "history": history, "seed": args.seed, "library": seqattn.library_path()}, f, indent=2)
    png = plot(alpha, past, nxt, pred[:, 0, 0] * s_out + past[:, -1], args.out)
    print(f"wrote {png}")
    if ratio < args.min_ratio:
        sys.exit(f"gru_attention.py: the model is only {ratio:.2f}x better than repeating the last value "
                 f"(needs {args.min_ratio})")


def plot(alpha, past, nxt, pred, out):
    import matplotlib
    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 8.5), constrained_layout=True)
    grid = fig.add_gridspec(3, 3, height_ratios=[1, 1, 1.1])
    shown = np.linspace(0, len(alpha) - 1, 6).astype(int)
    steps = np.arange(-PAST + 1, 1)
    for k, i in enumerate(shown):
        ax = fig.add_subplot(grid[k // 3, k % 3])
        bars = ax.twinx()
        bars.bar(steps, alpha[i], width=0.8, color="tab:orange", alpha=0.45, label="attention α")
        bars.set_ylim(0, max(0.05, float(alpha[i].max()) * 1.15))
        bars.set_ylabel("α", color="tab:orange")
        ax.plot(steps, past[i], color="tab:blue", lw=1.4, label="input")
        ax.scatter([1], [nxt[i]], color="black", zorder=3, label="next value")
        ax.scatter([1], [pred[i]], color="tab:green", marker="x", zorder=3, label="forecast")
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_title(f"test window {i}", fontsize=10)
        ax.set_xlabel("step (0 = last input)")
        if k == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = bars.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left")
    ax = fig.add_subplot(grid[2, :])
    n = min(len(alpha), 120)
    im = ax.imshow(alpha[:n], aspect="auto", cmap="viridis", extent=(steps[0] - 0.5, 0.5, n, 0))
    ax.set_xlabel("step (0 = last input)")
    ax.set_ylabel("test window")
    ax.set_title(f"attention weights α of {n} test windows (each row sums to 1)")
    fig.colorbar(im, ax=ax, label="α")
    fig.suptitle("seqattn (Python): GRU + additive attention, next-value forecast")
    path = os.path.join(out, "attention.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
