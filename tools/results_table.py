#!/usr/bin/python3
"""Prints one table of the examples' results from results/*/metrics.json.

Each example writes a metrics.json with at least: "test_mse", "baseline_mse"
(its trivial baseline), "ratio" (baseline / model) and "seconds"."""
import json
import pathlib
import sys


def main(root: str) -> int:
    rows = []
    for path in sorted(pathlib.Path(root).glob("*/metrics.json")):
        m = json.loads(path.read_text())
        rows.append((path.parent.name, m.get("test_mse"), m.get("baseline_mse"),
                     m.get("ratio"), m.get("seconds")))
    if not rows:
        print(f"no metrics.json under {root}/", file=sys.stderr)
        return 1
    head = ("example", "test MSE", "baseline MSE", "baseline/model", "seconds")
    fmt = "{:<20} {:>12} {:>14} {:>15} {:>9}"
    print(fmt.format(*head))
    print("-" * 74)
    num = lambda v, spec: "n/a" if v is None else format(v, spec)
    for name, mse, base, ratio, sec in rows:
        print(fmt.format(name, num(mse, ".5f"), num(base, ".5f"), num(ratio, ".2f") + "x",
                         num(sec, ".1f")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
