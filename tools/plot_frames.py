#!/usr/bin/python3
"""PNG of a frame grid written by examples/data (mm_write_pgm_strip).

The C side writes a binary PGM (P5, maxval 255) so that it needs no image
library; this converts it to a PNG, enlarged with nearest-neighbour pixels so
a 32 x 32 frame is still readable, optionally with a title.

Usage: /usr/bin/python3 tools/plot_frames.py IN.pgm [OUT.png] [--scale N] [--title TEXT]
       (OUT defaults to IN with .png)
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)
import numpy as np  # noqa: E402


def fail(msg):
    sys.exit(f"plot_frames: {msg}")


def read_pgm(path):
    """A P5 PGM with maxval <= 255 as a 2-D uint8 array (comments allowed)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            end = raw.find(b"\n", pos)
            pos = len(raw) if end < 0 else end + 1
            continue
        start = pos
        while pos < len(raw) and not raw[pos : pos + 1].isspace():
            pos += 1
        if start == pos:
            fail(f"{path}: the PGM header is incomplete")
        fields.append(raw[start:pos])
    pos += 1  # the single whitespace byte before the pixels
    if fields[0] != b"P5":
        fail(f"{path}: not a binary PGM (magic {fields[0]!r}, expected P5)")
    try:
        w, h, maxval = (int(x) for x in fields[1:])
    except ValueError:
        fail(f"{path}: bad PGM header {fields!r}")
    if w < 1 or h < 1 or not 1 <= maxval <= 255:
        fail(f"{path}: unsupported PGM size {w}x{h} or maxval {maxval}")
    pixels = raw[pos : pos + w * h]
    if len(pixels) != w * h:
        fail(f"{path}: {len(pixels)} pixel bytes, {w}x{h} needs {w * h}")
    img = np.frombuffer(pixels, dtype=np.uint8).reshape(h, w)
    return img, maxval


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pgm")
    ap.add_argument("png", nargs="?")
    ap.add_argument("--scale", type=int, default=4, help="pixel enlargement (default 4)")
    ap.add_argument("--title", help="a title drawn above the frames")
    args = ap.parse_args()
    if args.scale < 1:
        fail("--scale must be >= 1")
    out = args.png or os.path.splitext(args.pgm)[0] + ".png"
    img, maxval = read_pgm(args.pgm)
    big = np.repeat(np.repeat(img, args.scale, axis=0), args.scale, axis=1)
    try:
        if args.title:
            h, w = big.shape
            fig = plt.figure(figsize=(w / 100, h / 100 + 0.4), dpi=100)
            ax = fig.add_axes([0, 0, 1, h / (h + 40)])
            ax.imshow(big, cmap="gray", vmin=0, vmax=maxval, interpolation="nearest")
            ax.axis("off")
            fig.suptitle(args.title, fontsize=10, y=0.99)
            fig.savefig(out, dpi=100)
            plt.close(fig)
        else:
            plt.imsave(out, big, cmap="gray", vmin=0, vmax=maxval)
    except OSError as e:
        fail(f"cannot write {out}: {e}")
    print(f"wrote {out} ({img.shape[1]}x{img.shape[0]} pixels, scale {args.scale})")


if __name__ == "__main__":
    main()
