#!/usr/bin/python3
"""Figures for the htap_video example.

Reads, from the results directory written by examples/htap_video:
  metrics.json   per-frame MSE / PSNR over seeds, windows, strip layout, spans
  attention.csv  rows "matrix,query,key_0..": the last transformer block's
                 head-averaged attention during the rollout, "mean" over the
                 test set and "seq0" for test sequence 0
  frames.pgm     rows true / RNN / H-TAP of test sequence 0
and writes there:
  horizon.png    MSE and PSNR per predicted frame (mean over seeds, band =
                 min..max over seeds) for H-TAP, the RNN transition and
                 copy-last, with the near and far windows shaded
  attention.png  the two attention maps (query step = frame read, key = frame
                 attended to) and the attention span per query step
  frames.png     the strip with row and frame labels

Usage: /usr/bin/python3 tools/plot_htap.py [DIR]   (default results/htap_video)
"""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_frames import read_pgm  # noqa: E402  (the PGM reader of the data tools)

METHODS = [
    ("htap", "H-TAP (causal transformer)", "tab:green", "-"),
    ("rnn", "RNN (GRU) transition", "tab:blue", "--"),
    ("copy_last", "copy last frame", "tab:red", ":"),
    ("mean_frame", "mean training frame", "0.4", "-."),
]


def fail(msg):
    sys.exit(f"plot_htap: {msg}")


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


def load_attention(path):
    """{"mean": [Q, Q], "seq0": [Q, Q]} from attention.csv."""
    mats = {}
    try:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                keys = sorted((k for k in r if k.startswith("key_")), key=lambda k: int(k[4:]))
                mats.setdefault(r["matrix"], []).append([float(r[k]) for k in keys])
    except (OSError, KeyError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    if "mean" not in mats:
        fail(f"{path} has no 'mean' matrix")
    return {k: np.array(v) for k, v in mats.items()}


def per_seed(metrics, key, method):
    return np.array([s[key][method] for s in metrics["seeds"]], dtype=float)


def plot_horizon(metrics, out):
    w = metrics["windows"]
    first, last = w["first_predicted_frame"], w["last_frame"]
    frames = np.arange(first, last + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, ylabel in ((axes[0], "mse_per_frame", "MSE per frame"), (axes[1], "psnr_per_frame", "PSNR (dB)")):
        for method, label, color, style in METHODS:
            if method not in metrics["seeds"][0][key]:
                continue  # written by an older htap_video
            v = per_seed(metrics, key, method)
            ax.plot(frames, v.mean(axis=0), style, color=color, label=label)
            if len(v) > 1:
                ax.fill_between(frames, v.min(axis=0), v.max(axis=0), color=color, alpha=0.15, linewidth=0)
        for (a, b), name in ((w["near_frames"], "near"), (w["far_frames"], "far")):
            ax.axvspan(a - 0.5, b + 0.5, color="0.85", zorder=0)
            ax.text((a + b) / 2, 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=8)
        ax.set_xlabel("predicted frame (conditioned on frames 1-%d)" % (first - 1))
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    n = len(metrics["seeds"])
    fig.suptitle("%s setting, %d seed%s (line: mean, band: min..max)" % (metrics["config"]["setting"], n,
                                                                         "" if n == 1 else "s"), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_attention(metrics, mats, out):
    ctx = metrics["config"]["context"]
    panels = [("mean", "mean over the test set")] + ([("seq0", "test sequence 0")] if "seq0" in mats else [])
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.6 * (len(panels) + 1), 4.2))
    for ax, (key, title) in zip(axes, panels):
        a = mats[key]
        q = a.shape[0]
        masked = np.ma.masked_where(np.triu(np.ones_like(a, dtype=bool), k=1), a)
        im = ax.imshow(masked, cmap="viridis", vmin=0, vmax=max(a.max(), 1e-9), origin="upper",
                       extent=(0.5, q + 0.5, q + 0.5, 0.5))
        # step s reads frame s+1 (1-based); from frame ctx+1 on, inputs are the model's own frames
        ax.axhline(ctx + 0.5, color="w", lw=0.8, ls="--")
        ax.axvline(ctx + 0.5, color="w", lw=0.8, ls="--")
        ax.set_xlabel("key: frame attended to")
        ax.set_ylabel("query: frame just read")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    att = metrics["attention"]
    span = np.array(att["span_per_query"], dtype=float)
    ax = axes[-1]
    ax.plot(np.arange(1, len(span) + 1), span, "-o", ms=3, color="tab:green", label="H-TAP span")
    ax.plot(np.arange(1, len(span) + 1), np.arange(len(span)) / 2, ":", color="0.5", label="uniform over history")
    ax.axvline(ctx + 0.5, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel("query: frame just read")
    ax.set_ylabel("attention span  sum_j A_ij (i - j)  [frames]")
    ax.set_title("mean span %.2f frames (rollout steps %.2f)" % (att["mean_span"], att["mean_span_rollout"]),
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.suptitle("last block %s, head-averaged, during the rollout (seed %d); dashed: end of context"
                 % (att["node"], att["seed"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_frames(metrics, pgm, out):
    img, maxval = read_pgm(pgm)
    st = metrics["strip"]
    s = metrics["config"]["canvas"]
    gap = (img.shape[0] - 3 * s) // 2 if img.shape[0] > 3 * s else 0
    ncol = (img.shape[1] + gap) // (s + gap)
    scale = max(1, 96 // s)  # frames drawn ~1 inch tall whatever the canvas
    w_in, h_in = img.shape[1] * scale / 100, img.shape[0] * scale / 100
    left, bottom, top = 1.0, 0.3, 0.35  # inches for row labels, frame numbers, title
    fig = plt.figure(figsize=(w_in + left + 0.1, h_in + bottom + top), dpi=100)
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes([left / fw, bottom / fh, w_in / fw, h_in / fh])
    ax.imshow(img, cmap="gray", vmin=0, vmax=maxval, interpolation="nearest")
    ax.set_yticks([s / 2 + r * (s + gap) for r in range(3)])
    ax.set_yticklabels(["true", "RNN (GRU)", "H-TAP"])
    ax.set_xticks([s / 2 + c * (s + gap) for c in range(ncol)])
    ax.set_xticklabels([str(st["first_frame"] + c * st["every"]) for c in range(ncol)], fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("test sequence 0: frame %d is the last context frame, then the rollout" % st["first_frame"],
                 fontsize=9)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", default="results/htap_video")
    args = ap.parse_args()
    metrics = load_json(os.path.join(args.dir, "metrics.json"))
    mats = load_attention(os.path.join(args.dir, "attention.csv"))
    outs = [os.path.join(args.dir, n) for n in ("horizon.png", "attention.png", "frames.png")]
    try:
        plot_horizon(metrics, outs[0])
        plot_attention(metrics, mats, outs[1])
        plot_frames(metrics, os.path.join(args.dir, "frames.pgm"), outs[2])
    except OSError as e:
        fail(f"cannot write a figure: {e}")
    print("wrote " + ", ".join(outs))


if __name__ == "__main__":
    main()
