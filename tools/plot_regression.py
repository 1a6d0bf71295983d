#!/usr/bin/python3
"""Figure for a regression example (e.g. bilstm_regressor).

Reads, from the results directory the example wrote:
  predictions.csv  header "target,prediction[,length]", one test sample a line
  metrics.json     train_loss / val_loss per epoch, test_mse, baseline_mse,
                   baseline_prediction, ratio, best_epoch, seed, config.setting,
                   and rule_mse when the example has a hand-made reference
and writes there:
  regression.png   left: prediction against target for every test sample
                   (coloured by sequence length when the CSV has one), with
                   the ideal diagonal and the mean predictor's constant;
                   right: training and validation MSE per epoch against the
                   test MSE of the mean predictor, the rule and the model

Usage: /usr/bin/python3 tools/plot_regression.py [DIR]   (default results/bilstm_regressor)
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402


def fail(msg):
    sys.exit(f"plot_regression: {msg}")


def load_predictions(path):
    """The CSV as named columns; target and prediction are required."""
    try:
        data = np.genfromtxt(path, delimiter=",", names=True, ndmin=1)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    names = data.dtype.names or ()
    for col in ("target", "prediction"):
        if col not in names:
            fail(f"{path} has no '{col}' column (header: {','.join(names)})")
    if data.size == 0:
        fail(f"{path} has no rows")
    return data


def load_metrics(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


def plot_scatter(ax, fig, data, m):
    t, p = data["target"], data["prediction"]
    lo, hi = min(t.min(), p.min(), 0.0), max(t.max(), p.max(), 1.0)
    if "length" in data.dtype.names:
        sc = ax.scatter(t, p, c=data["length"], cmap="viridis", s=9, alpha=0.75, lw=0)
        fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.03).set_label("sequence length (steps)")
    else:
        ax.scatter(t, p, s=9, alpha=0.75, lw=0)
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--", label="prediction = target")
    base = m.get("baseline_prediction")
    if base is not None:
        ax.axhline(base, color="tab:red", lw=1.2, label=f"mean predictor ({base:.3f})")
    mse, mae = m.get("test_mse"), m.get("test_mae")
    if mse is not None:
        label = f"test MSE {mse:.4f}" + (f", MAE {mae:.3f}" if mae is not None else "")
        ax.text(0.03, 0.97, f"{label}\n{t.size} test samples", transform=ax.transAxes, va="top",
                fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="0.8"))
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("target")
    ax.set_ylabel("prediction")
    ax.set_title("test set: prediction against target", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)


def plot_loss(ax, m):
    train, val = m.get("train_loss") or [], m.get("val_loss") or []
    if not train:
        fail("metrics.json has no train_loss")
    ep = np.arange(1, len(train) + 1)
    ax.plot(ep, train, marker="o", ms=3, label="train MSE")
    if val:
        ax.plot(ep[: len(val)], val, marker="s", ms=3, label="validation MSE")
    base = m.get("baseline_mse")
    if base is not None:
        ax.axhline(base, color="tab:red", ls="--", lw=1, label=f"mean predictor on test {base:.4f}")
    rule = m.get("rule_mse")  # optional: a hand-made reference some examples report
    if rule is not None:
        ax.axhline(rule, color="tab:purple", ls="-.", lw=1, label=f"context-free rule on test {rule:.4f}")
    test = m.get("test_mse")
    if test is not None:
        ax.axhline(test, color="tab:green", ls=":", lw=1.2, label=f"model on test {test:.4f}")
    best = m.get("best_epoch")
    if best:
        ax.axvline(best, color="gray", ls=":", lw=1, label=f"best validation epoch {best}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # epochs are whole
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title("loss per epoch", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default="results/bilstm_regressor",
                    help="results directory of the example (default: %(default)s)")
    args = ap.parse_args()
    d = args.dir
    if not os.path.isdir(d):
        fail(f"{d} is not a directory (run the example with --out {d} first)")
    data = load_predictions(os.path.join(d, "predictions.csv"))
    m = load_metrics(os.path.join(d, "metrics.json"))

    fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    plot_scatter(ax_s, fig, data, m)
    plot_loss(ax_l, m)
    ratio = m.get("ratio")
    fig.suptitle(f"{m.get('example', 'regression')} ({m.get('config', {}).get('setting', '?')}, "
                 f"seed {m.get('seed', '?')})"
                 + (f": test MSE {ratio:.1f}x lower than the mean predictor" if ratio else ""))
    fig.tight_layout()
    out = os.path.join(d, "regression.png")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
