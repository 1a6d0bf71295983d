"""targets.py — the project's performance targets, checked against measured rows.

A row (built by report.py) has: group, workload, mode, B, T, H, threads,
sa_ms, torch_ms, ratio (torch_ms / sa_ms), sa_gflops, sgemm_gflops, sa_mem
(seqattn's sa_model_memory figures) and need_bytes (need.py, training).
Targets are goals for the optimisation work, never unit tests.
"""

SPEEDUP = {"gru_attn": 3.0, "seq2seq": 3.0, "lstm_stack": 3.0, "mha": 1.5, "tiny_transformer": 1.5}
LATENCY_SPEEDUP = {"gru_attn": 10.0, "seq2seq": 10.0}
SGEMM_FRACTION = 0.5
THREAD_SCALING = (512, 256, 1.6)  # H, B, seqattn 1-thread / 2-thread time
# "2 threads never slower": 1-thread / 2-thread time of every case measured
# with both. The goal is 1; one process's median moves by up to ~10 % between
# rounds on this shared machine (the spread columns), so a case counts as
# slower when it is below 0.9 and the table prints the value either way.
NEVER_SLOWER = 0.9
ACTIVATION_NEED = 1.5  # activations (values + workspace) / need.py's count, training


def _base(row):
    return row["group"] == row["workload"] and not (row["workload"] == "gru_attn" and row["T"] != 50)


def evaluate(rows):
    out = []

    def add(name, row, value, goal, at_most=False):
        ok = value is not None and (value <= goal if at_most else value >= goal)
        out.append({"target": name, "case": f"{row['workload']} B={row['B']} T={row['T']} H={row['H']}",
                    "threads": row["threads"], "value": value, "goal": goal, "ok": ok,
                    "at_most": at_most})

    for r in rows:
        if r.get("ratio") is None:
            continue
        if _base(r) and r["mode"] == "train" and r["workload"] in SPEEDUP:
            add("training speed-up vs torch", r, r["ratio"], SPEEDUP[r["workload"]])
            add("fraction of sgemm rate", r, r["sa_gflops"] / r["sgemm_gflops"], SGEMM_FRACTION)
        if r["group"] == "latency" and r["workload"] in LATENCY_SPEEDUP:
            add("single-sample inference speed-up", r, r["ratio"], LATENCY_SPEEDUP[r["workload"]])
        mem = r.get("sa_mem") or {}
        if (_base(r) and r["mode"] == "train" and r["threads"] == 1 and r.get("need_bytes")
                and "mem_values" in mem and "mem_workspace" in mem):
            add("activations / backward's need", r, (mem["mem_values"] + mem["mem_workspace"]) / r["need_bytes"],
                ACTIVATION_NEED, at_most=True)
    by_case = {}
    for r in rows:
        if r.get("sa_ms"):
            by_case.setdefault((r["group"], r["label"], r["mode"]), {})[r["threads"]] = r
    for (_, _, mode), t in by_case.items():
        if 1 in t and 2 in t:
            add(f"2 threads not slower ({mode})", dict(t[2], mode=mode), t[1]["sa_ms"] / t[2]["sa_ms"], NEVER_SLOWER)
    H, B, goal = THREAD_SCALING
    by_key = {}
    for r in rows:
        if r["group"] == "scale" and r["H"] == H and r["B"] == B and r.get("sa_ms"):
            by_key.setdefault((r["workload"], r["mode"]), {})[r["threads"]] = r
    for (w, mode), t in sorted(by_key.items()):
        if 1 in t and 2 in t:
            r = dict(t[2], mode=mode)
            add(f"2-thread scaling ({mode})", r, t[1]["sa_ms"] / t[2]["sa_ms"], goal)
    return out


def markdown(results):
    lines = ["| target | case | threads | measured | goal | met |", "|---|---|---|---|---|---|"]
    for t in results:
        v = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        goal = f"≤ {t['goal']:g}" if t.get("at_most") else f"{t['goal']:g}"
        lines.append(f"| {t['target']} | {t['case']} | {t['threads']} | {v} | {goal} | "
                     f"{'yes' if t['ok'] else 'no'} |")
    return "\n".join(lines)
