#!/usr/bin/python3
"""Figures for the seq2seq_forecast example.

Reads, from the results directory written by examples/seq2seq_forecast:
  attention.csv  rows "matrix,output_step,in_0..in_49": the T_out x T_in
                 cross-attention matrix averaged over the test set ("mean")
                 and of a few test windows (matrix = test window index)
  forecasts.csv  those windows: true values over positions 0..69 and each
                 method's forecast over the future positions 50..69
  metrics.json   per-horizon MSEs, attention span and entropy, configuration
and writes there:
  attention_heatmap.png  the mean matrix and two windows' matrices, each under
                         a strip showing what the rows attend to
  forecast.png           past, true future and every forecast for each window
  horizon.png            test MSE per horizon step, model against baselines

Usage: /usr/bin/python3 tools/plot_heatmap.py [DIR]   (default results/seq2seq_forecast)
"""
import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)
import numpy as np  # noqa: E402

# One colour and label per method, shared by forecast.png and horizon.png.
METHODS = [
    ("model", "Seq2Seq + attention", "tab:green", "-"),
    ("no_attention", "Seq2Seq, no attention", "tab:purple", "--"),
    ("linear", "linear extrapolation", "tab:orange", "-."),
    ("repeat_last", "repeat last value", "tab:red", ":"),
]


def fail(msg):
    sys.exit(f"plot_heatmap: {msg}")


def read_csv(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not rows:
        fail(f"{path} is empty")
    return rows


def load_attention(path):
    """{matrix id: array [T_out, T_in]}, in file order ("mean" first)."""
    mats = {}
    for r in read_csv(path):
        cols = sorted((k for k in r if k.startswith("in_")), key=lambda k: int(k[3:]))
        mats.setdefault(r["matrix"], {})[int(r["output_step"])] = [float(r[k]) for k in cols]
    out = {}
    for key, rows in mats.items():
        m = np.array([rows[i] for i in sorted(rows)])
        # Each row is a softmax: another sum means the file is damaged or mixed up.
        if not np.allclose(m.sum(axis=1), 1.0, atol=1e-3):
            fail(f"attention rows of matrix {key} should sum to 1")
        out[key] = m
    if "mean" not in out:
        fail(f"{path} has no mean matrix")
    return out


def load_forecasts(path):
    """{test window: {"series", "start", "position": array, column: array}}."""
    wins = {}
    for r in read_csv(path):
        w = wins.setdefault(r["test_window"], {"series": r["series"], "start": r["start"], "rows": []})
        w["rows"].append(r)
    for w in wins.values():
        rows = sorted(w.pop("rows"), key=lambda r: int(r["position"]))
        w["position"] = np.array([int(r["position"]) for r in rows])
        for col in ["actual"] + [m[0] for m in METHODS]:
            w[col] = np.array([float(r[col]) for r in rows])  # "nan" over the past
    return wins


def span_entropy(m):
    """Mean span and entropy of one matrix, as defined in attn_stats.h."""
    t_out, t_in = m.shape
    dist = np.abs((t_in + np.arange(t_out))[:, None] - np.arange(t_in)[None, :])
    span = (m * dist).sum(axis=1).mean()
    ent = -(m * np.log(np.where(m > 0, m, 1.0))).sum(axis=1).mean()
    return span, ent


def plot_heatmaps(mats, wins, metrics, out_path):
    keys = ["mean"] + [k for k in mats if k != "mean"][:2]
    t_out, t_in = mats["mean"].shape
    fig, axes = plt.subplots(2, len(keys), figsize=(5.6 * len(keys), 6.4), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 2.6], "wspace": 0.3}, sharex="col")
    for c, key in enumerate(keys):
        m = mats[key]
        top, ax = axes[0][c], axes[1][c]
        # One colour scale per panel: the mean is much flatter than a single window,
        # and on a shared scale its structure would vanish.
        im = ax.imshow(m, aspect="auto", origin="upper", cmap="viridis", vmin=0.0,
                       extent=(-0.5, t_in - 0.5, t_out + 0.5, 0.5), interpolation="nearest")
        # Spanning both rows keeps the strip above aligned with the heatmap.
        fig.colorbar(im, ax=[top, ax], fraction=0.05, pad=0.02, aspect=30,
                     label="attention weight A[i, j]" if c == len(keys) - 1 else None)
        ax.set_xlabel(f"input step j (0 = oldest, {t_in - 1} = last past value)")
        if c == 0:  # shared by the row; repeating it would collide with the colour bars
            ax.set_ylabel("output step i + 1 (forecast horizon)")
        ax.set_yticks([1, 5, 10, 15, 20] if t_out == 20 else range(1, t_out + 1))
        span, ent = span_entropy(m)
        if key == "mean":
            # What the test set attends to on average: the rows' mean over output steps.
            top.bar(np.arange(t_in), m.mean(axis=0), width=0.85, color="tab:blue")
            top.set_ylabel("mean weight")
            att = (metrics or {}).get("attention", {})
            n = (metrics or {}).get("config", {}).get("windows", [None, None, None])[2]
            title = f"mean over {n} test windows" if n else "mean over the test set"
            # Quote the windows' mean from metrics.json: the span is linear in A, but the
            # mean matrix is flatter than any window, so its own entropy would overstate.
            if att:
                title += (f"\nspan {att['span_mean']:.1f} steps (uniform {att['span_uniform_mean']:.1f}), "
                          f"entropy {att['entropy_norm_mean']:.2f}·ln {t_in}")
        else:
            # The window's own past values, on the heatmap's input axis.
            w = wins.get(key)
            if w is not None:
                past = w["position"] < t_in
                top.plot(w["position"][past], w["actual"][past], color="tab:blue", lw=1.3, marker=".", ms=3)
            top.set_ylabel("x")
            series = f"series {w['series']}, " if w is not None else ""
            title = (f"test window {key} ({series}one sample)\n"
                     f"span {span:.1f} steps, entropy {ent / math.log(t_in):.2f}·ln {t_in}")
        top.set_title(title, fontsize=9)
        top.grid(True, alpha=0.3)
        top.tick_params(labelbottom=False)
    cfg = (metrics or {}).get("config", {})
    fig.suptitle(f"Cross-attention of the decoder (rows: 20 forecast steps) over the encoder states "
                 f"({cfg.get('setting', '?')} run, seed {(metrics or {}).get('seed', '?')})", fontsize=11)
    fig.savefig(out_path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_forecasts(wins, metrics, out_path):
    keys = list(wins)
    cols = 2 if len(keys) > 1 else 1
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.0 * cols, 3.2 * rows + 0.9), squeeze=False)
    handles = None
    for n in range(rows * cols):
        ax = axes[n // cols][n % cols]
        if n >= len(keys):
            ax.set_visible(False)
            continue
        w = wins[keys[n]]
        pos, act = w["position"], w["actual"]
        fut = ~np.isnan(w["model"])
        t_in = int(pos[fut][0])
        ax.plot(pos[~fut], act[~fut], color="tab:blue", lw=1.3, label="past (input)")
        # Join the true future to the last past value so the curve has no gap.
        ax.plot(pos[t_in - 1:], act[t_in - 1:], color="black", lw=1.6, marker="o", ms=2.5,
                label="true future")
        for col, label, color, ls in METHODS:
            ax.plot(pos[fut], w[col][fut], color=color, ls=ls, lw=1.8, label=label)
        ax.axvline(t_in - 0.5, color="gray", lw=0.8)
        ax.set_title(f"test window {keys[n]} (series {w['series']}, from sample {w['start']})", fontsize=9)
        ax.set_xlabel(f"step (0-{t_in - 1} past, {t_in}-{pos[-1]} forecast)")
        ax.set_ylabel("x")
        ax.grid(True, alpha=0.3)
        if handles is None:
            handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1.0 - 0.35 / fig.get_figheight()))
    fig.suptitle("Autoregressive 20-step forecasts of test windows", y=1.0 - 0.05 / fig.get_figheight())
    fig.tight_layout(rect=(0, 0, 1, 1.0 - 0.5 / fig.get_figheight()))
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def plot_horizon(metrics, out_path):
    hm = metrics.get("horizon_mse") or {}
    overall = metrics.get("overall_mse") or {}
    if "model" not in hm:
        fail("metrics.json has no horizon_mse")
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for col, label, color, ls in METHODS:
        if col not in hm:
            continue
        v = np.array(hm[col], dtype=float)
        extra = f" (k = {metrics['linear_k']})" if col == "linear" and "linear_k" in metrics else ""
        ax.plot(np.arange(1, len(v) + 1), v, color=color, ls=ls, lw=2, marker="o", ms=3.5,
                label=f"{label}{extra}: overall {overall.get(col, float('nan')):.4f}")
    ax.set_xlabel("horizon step (1 = first forecast value)")
    ax.set_ylabel("test MSE (series units)")
    ax.set_xticks(range(1, len(hm["model"]) + 1))
    # Log scale: the model's errors are often 10-50x below the baselines' and
    # would flatten onto the axis on a linear one.
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    # Below the axes, where it cannot hide a curve.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    cfg = metrics.get("config", {})
    ratio = metrics.get("ratio")
    ax.set_title(f"seq2seq_forecast ({cfg.get('setting', '?')}, seed {metrics.get('seed', '?')}): "
                 f"{ratio:.2f}x lower MSE than the best baseline ({metrics.get('baseline', '?')})"
                 if ratio else "seq2seq_forecast", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default="results/seq2seq_forecast",
                    help="results directory of seq2seq_forecast (default: %(default)s)")
    d = ap.parse_args().dir
    if not os.path.isdir(d):
        fail(f"{d} is not a directory (run examples/seq2seq_forecast --out {d} first)")
    try:
        with open(os.path.join(d, "metrics.json")) as f:
            metrics = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {d}/metrics.json: {e}")
    mats = load_attention(os.path.join(d, "attention.csv"))
    wins = load_forecasts(os.path.join(d, "forecasts.csv"))
    plot_heatmaps(mats, wins, metrics, os.path.join(d, "attention_heatmap.png"))
    plot_forecasts(wins, metrics, os.path.join(d, "forecast.png"))
    plot_horizon(metrics, os.path.join(d, "horizon.png"))
    print("wrote " + ", ".join(os.path.join(d, n) for n in ("attention_heatmap.png", "forecast.png", "horizon.png")))


if __name__ == "__main__":
    main()
