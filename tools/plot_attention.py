#!/usr/bin/python3
"""Figures for the gru_attention example.

Reads, from the results directory written by examples/gru_attention:
  attention.csv  one row per test window, the attention weight of each input step
  inputs.csv     the same windows' input values (same shape)
  metrics.json   losses per epoch, test/baseline MSE, and for each shown window
                 its target and the two forecasts (optional for attention.png)
and writes there:
  attention.png  each window's input signal with its attention weights as bars
                 on a twin axis, plus the next value, the model's forecast and
                 the naive "repeat last value" forecast
  loss.png       training and validation MSE per epoch against the naive baseline

Usage: /usr/bin/python3 tools/plot_attention.py [DIR]   (default results/gru_attention)
"""
import argparse
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)
import numpy as np  # noqa: E402


def fail(msg):
    sys.exit(f"plot_attention: {msg}")


def load_matrix(path):
    """A CSV of floats as a 2-D array (a single window still gives one row)."""
    try:
        m = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    if m.size == 0:
        fail(f"{path} is empty")
    return m


def load_metrics(path, required):
    if not os.path.exists(path):
        if required:
            fail(f"{path} is missing")
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


def plot_attention(attn, inputs, metrics, out_path):
    n, steps = attn.shape
    windows = (metrics or {}).get("attention_windows", [])
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    # Wide enough for the title even with a single window; room on top for title and legend.
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.4 * cols, 9.0), 2.8 * rows + 0.8), squeeze=False)
    t = np.arange(1, steps + 1)
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= n:
            ax.set_visible(False)
            continue
        # Bars first, on their own axis behind the signal, so the signal stays readable.
        ax_w = ax.twinx()
        ax.set_zorder(ax_w.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax_w.bar(t, attn[i], width=0.8, color="tab:orange", alpha=0.55, label="attention α")
        ax_w.set_ylim(0, max(attn[i].max() * 1.15, 1e-6))
        ax_w.set_ylabel("attention α", color="tab:orange")
        ax_w.tick_params(axis="y", colors="tab:orange")

        ax.plot(t, inputs[i], color="tab:blue", lw=1.4, marker=".", ms=3, label="input x")
        title = f"test window {i}"
        if i < len(windows):
            w = windows[i]
            nxt = steps + 1
            ax.plot([nxt], [w["target"]], "o", color="black", ms=6, label="next value")
            ax.plot([nxt], [w["prediction"]], "x", color="tab:green", ms=8, mew=2, label="model")
            ax.plot([nxt], [w["baseline"]], "+", color="tab:red", ms=9, mew=2, label="repeat last")
            title = f"series {w['series']}, steps {w['start']}-{w['start'] + steps - 1}"
        peak = int(np.argmax(attn[i])) + 1
        last5 = attn[i][-5:].sum()
        ax.set_title(f"{title}   α peaks at step {peak}, last 5 steps hold {last5:.0%}", fontsize=9)
        ax.set_xlim(0, steps + 2)
        ax.set_xlabel("input step (50 = most recent)")
        ax.set_ylabel("x")
        if i == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax_w.get_legend_handles_labels()
            handles, labels = h1 + h2, l1 + l2
    fig.suptitle("GRU + additive attention: where the model looks before predicting the next value")
    # One legend for all panels, above them, so it never hides a signal.
    top = 1.0 - 0.75 / fig.get_figheight()  # inches reserved for title and legend
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8,
               bbox_to_anchor=(0.5, 1.0 - 0.4 / fig.get_figheight()), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def plot_loss(metrics, out_path):
    train = metrics.get("train_loss") or []
    val = metrics.get("val_loss") or []
    if not train or not val:
        fail("metrics.json has no train_loss / val_loss")
    ep = np.arange(1, len(train) + 1)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(ep, train, marker="o", ms=3, label="train MSE")
    ax.plot(ep[: len(val)], val, marker="s", ms=3, label="validation MSE")
    base = metrics.get("baseline_mse")
    if base is not None:
        ax.axhline(base, color="tab:red", ls="--", lw=1, label=f"repeat-last baseline (test) {base:.4f}")
    test = metrics.get("test_mse")
    if test is not None:
        ax.axhline(test, color="tab:green", ls=":", lw=1.2, label=f"model on test {test:.4f}")
    best = metrics.get("best_epoch")
    if best:
        ax.axvline(best, color="gray", ls=":", lw=1, label=f"best validation epoch {best}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (series units)")
    ratio = metrics.get("ratio")
    cfg = metrics.get("config", {})
    ax.set_title(f"gru_attention ({cfg.get('setting', '?')}, seed {metrics.get('seed', '?')})"
                 + (f": {ratio:.2f}x lower MSE than repeat-last" if ratio else ""), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default="results/gru_attention",
                    help="results directory of gru_attention (default: %(default)s)")
    args = ap.parse_args()
    d = args.dir
    if not os.path.isdir(d):
        fail(f"{d} is not a directory (run examples/gru_attention --out {d} first)")

    attn = load_matrix(os.path.join(d, "attention.csv"))
    inputs = load_matrix(os.path.join(d, "inputs.csv"))
    if attn.shape != inputs.shape:
        fail(f"attention.csv is {attn.shape} but inputs.csv is {inputs.shape}")
    # Each row is a softmax: a different sum means the files do not belong together.
    sums = attn.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        fail(f"attention rows should sum to 1, got {np.round(sums, 4)}")
    metrics = load_metrics(os.path.join(d, "metrics.json"), required=False)

    plot_attention(attn, inputs, metrics, os.path.join(d, "attention.png"))
    written = ["attention.png"]
    if metrics is not None:
        plot_loss(metrics, os.path.join(d, "loss.png"))
        written.append("loss.png")
    else:
        print("plot_attention: no metrics.json, skipping loss.png", file=sys.stderr)
    print(f"wrote {', '.join(os.path.join(d, w) for w in written)}")


if __name__ == "__main__":
    main()
