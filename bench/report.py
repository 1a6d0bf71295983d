"""report.py — runs the benchmark and prints the table (bench/run.sh calls it).

For every case (workloads.py) and thread count: `reps` rounds of one seqattn
process then one torch process (alternating, so drift in machine load hits
both sides alike), each timing its own steps after warm-up (sa_bench.c,
torch_bench.py). Per side the figure is the median over rounds of the
per-process median step time; spread = (max - min) / median of those. The
same is kept for process CPU time per step (cpu_ratio): on a loaded machine
it is the steadier figure for 1-thread runs.
FLOPs come from flops.py, the reference rate from sgemm_bench on the
dominant GEMM shape with the same thread count. Writes
results/bench/latest.json and results/bench/latest.md.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flops      # noqa: E402
import need       # noqa: E402
import table      # noqa: E402
import targets    # noqa: E402
import workloads  # noqa: E402

PY = "/usr/bin/python3"


def parse():
    p = argparse.ArgumentParser(description="seqattn vs PyTorch benchmark")
    p.add_argument("--bin", required=True, help="directory with sa_bench and sgemm_bench")
    p.add_argument("--quick", action="store_true", help="a subset, 1 thread, fewer rounds")
    p.add_argument("--threads", help="comma list (default 1,2; quick: 1)")
    p.add_argument("--only", help="comma list of groups: " + ", ".join(dict.fromkeys(c.group for c in workloads.cases(False))))
    p.add_argument("--reps", type=int, help="rounds per side (default 3; quick: 2)")
    p.add_argument("--min-time", type=float, help="timed seconds per process (default 0.5; quick: 0.3)")
    p.add_argument("--max-gflop", type=float, default=100.0,
                   help="skip cases whose step exceeds this many GFLOP (default 100)")
    p.add_argument("--omp-wait", choices=["passive", "active", "env"], default="passive",
                   help="OMP_WAIT_POLICY for runs with more than 1 thread (torch's OpenMP pool): "
                        "passive (default, see docs/performance.md), active, or env (leave as is)")
    p.add_argument("--out", default="results/bench")
    a = p.parse_args()
    a.threads = [int(t) for t in (a.threads or ("1" if a.quick else "1,2")).split(",")]
    a.reps = a.reps or (2 if a.quick else 3)
    a.min_time = a.min_time or (0.3 if a.quick else 0.5)
    return a


def run_json(cmd, threads, omp_wait="env", timeout=900):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    if threads > 1 and omp_wait != "env":
        env["OMP_WAIT_POLICY"] = omp_wait.upper()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]}
    return json.loads(lines[-1])


def side_args(c, threads, a):
    return ["--workload", c.workload, "--mode", c.mode, "--batch", str(c.B), "--seq", str(c.T),
            "--hidden", str(c.H), "--seq-out", str(c.t_out), "--threads", str(threads),
            "--warmup", "1", "--min-iters", "3", "--min-time", str(a.min_time)]


def summarise(runs):
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[-1]["error"] if runs else "not run"}
    meds = [r["median_ms"] for r in ok]
    m = statistics.median(meds)
    return {"ms": m, "cpu_ms": statistics.median(r["cpu_median_ms"] for r in ok),
            "spread": (max(meds) - min(meds)) / m if m else 0.0,
            "peak_kb": max(r["peak_rss_kb"] for r in ok),
            "base_kb": statistics.median(r["base_rss_kb"] for r in ok),
            "params": ok[0]["params"], "blas_threads": ok[0]["blas_threads"], "version": ok[0]["version"],
            "mem": {k: ok[0][k] for k in ("mem_values", "mem_grads", "mem_workspace", "mem_scratch", "mem_arena")
                    if k in ok[0]}}


def measure(c, threads, a):
    sa, th = [], []
    for _ in range(a.reps):
        sa.append(run_json([os.path.join(a.bin, "sa_bench")] + side_args(c, threads, a), threads, a.omp_wait))
        th.append(run_json([PY, os.path.join(HERE, "torch_bench.py")] + side_args(c, threads, a), threads,
                           a.omp_wait))
    return {"seqattn": summarise(sa), "torch": summarise(th), "raw": {"seqattn": sa, "torch": th},
            "loadavg": os.getloadavg()[0]}


def sgemm(shape, threads, a, cache):
    key = (shape, threads)
    if key not in cache:
        cache[key] = run_json([os.path.join(a.bin, "sgemm_bench"), *map(str, shape), "0.3"], threads, a.omp_wait)
    return cache[key]


def build_row(c, threads, m, g):
    f = flops.step_flops(c.workload, c.mode, c.B, c.T, c.H, c.t_out)
    _, M, N, K = flops.dominant_gemm(c.workload, c.B, c.T, c.H, c.t_out)
    s, t = m["seqattn"], m["torch"]
    row = {"group": c.group, "workload": c.workload, "mode": c.mode, "B": c.B, "T": c.T, "H": c.H,
           "label": c.label(), "threads": threads, "step_gflop": f / 1e9, "sgemm_shape": [M, N, K],
           "sa_ms": s.get("ms"), "torch_ms": t.get("ms"), "sa_cpu_ms": s.get("cpu_ms"),
           "torch_cpu_ms": t.get("cpu_ms"), "sa_spread": s.get("spread"),
           "torch_spread": t.get("spread"), "sa_peak_kb": s.get("peak_kb"), "sa_mem": s.get("mem"),
           "sa_base_kb": s.get("base_kb"),
           "need_bytes": need.need_bytes(c.workload, c.B, c.T, c.H, c.t_out) if c.mode == "train" else None,
           "torch_peak_kb": t.get("peak_kb"), "torch_base_kb": t.get("base_kb"),
           "sa_blas_threads": s.get("blas_threads"), "torch_threads": t.get("blas_threads"),
           "sgemm_gflops": g.get("gflops"), "errors": [x["error"] for x in (s, t, g) if "error" in x]}
    row["ratio"] = row["torch_ms"] / row["sa_ms"] if row["sa_ms"] and row["torch_ms"] else None
    row["cpu_ratio"] = (row["torch_cpu_ms"] / row["sa_cpu_ms"]
                        if row["sa_cpu_ms"] and row["torch_cpu_ms"] else None)
    row["sa_gflops"] = f / (row["sa_ms"] * 1e6) if row["sa_ms"] else None
    row["sa_cpu_gflops"] = f / (row["sa_cpu_ms"] * 1e6) if row["sa_cpu_ms"] else None  # 1 thread: busy rate
    row["torch_gflops"] = f / (row["torch_ms"] * 1e6) if row["torch_ms"] else None
    row["params_mismatch"] = bool(s.get("params") and t.get("params") and s["params"] != t["params"])
    return row


def git_state():
    """commit and whether lib/ or include/ differ from it (read-only git calls)"""
    run = lambda *c: subprocess.run(["git", *c], capture_output=True, text=True, cwd=HERE).stdout.strip()
    try:
        return {"commit": run("rev-parse", "--short", "HEAD"),
                "lib_dirty": bool(run("status", "--porcelain", "--", "../lib", "../include"))}
    except OSError:
        return {}


def machine():
    cpu = {}
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            cpu.setdefault(k.strip(), v.strip())
    return {"cpu": cpu.get("model name"), "cpu_family": cpu.get("cpu family"), "cpu_model": cpu.get("model"),
            "cores": os.cpu_count(), "kernel": platform.release(), "git": git_state(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY")}}


def main():
    a = parse()
    only = set(a.only.split(",")) if a.only else None
    groups = {c.group for c in workloads.cases(False)}
    if only and not only <= groups:
        sys.exit(f"report.py: unknown group(s) {sorted(only - groups)}; groups: {sorted(groups)}")
    cases = [c for c in workloads.cases(a.quick) if not only or c.group in only]
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), **machine(),
            "args": {k: v for k, v in vars(a).items() if k != "bin"}, "loadavg_start": os.getloadavg()}
    done, gcache, rows = {}, {}, []
    for c in cases:
        for th in a.threads:
            gf = flops.step_flops(c.workload, c.mode, c.B, c.T, c.H, c.t_out) / 1e9
            if gf > a.max_gflop:
                rows.append({"group": c.group, "workload": c.workload, "mode": c.mode, "B": c.B, "T": c.T,
                             "H": c.H, "label": c.label(), "threads": th, "step_gflop": gf,
                             "skipped": f"{gf:.0f} GFLOP/step > --max-gflop {a.max_gflop:g}"})
                continue
            if (c.key, th) not in done:
                done[(c.key, th)] = measure(c, th, a)
            m = done[(c.key, th)]
            g = sgemm(tuple(flops.dominant_gemm(c.workload, c.B, c.T, c.H, c.t_out)[1:]), th, a, gcache)
            row = build_row(c, th, m, g)
            row["raw"], row["loadavg"] = m["raw"], m["loadavg"]
            rows.append(row)
            print(f"{c.group:16s} {c.label():38s} {c.mode:5s} t={th}: sa {row['sa_ms'] or float('nan'):9.3f} ms"
                  f"  torch {row['torch_ms'] or float('nan'):9.3f} ms  torch/sa {row['ratio'] or float('nan'):5.2f}"
                  + (f"  ERR {row['errors']}" if row["errors"] else ""), file=sys.stderr, flush=True)
    meta["loadavg_end"] = os.getloadavg()
    blas = next((g.get("blas") for g in gcache.values() if g.get("blas")), "unknown")
    versions = next(({"seqattn": m["seqattn"].get("version"), "torch": m["torch"].get("version")}
                     for m in done.values()), {})
    meta.update(blas=blas, versions=versions)
    tgt = targets.evaluate([r for r in rows if not r.get("skipped")])
    md = "\n".join([
        f"seqattn {versions.get('seqattn')} vs torch {versions.get('torch')} — {meta['date']}, "
        f"{meta['cpu']} (family {meta['cpu_family']} model {meta['cpu_model']}), {meta['cores']} cores, {blas}; "
        f"load average {meta['loadavg_start'][0]:.1f} at start, {meta['loadavg_end'][0]:.1f} at end",
        table.markdown(rows), "", "### Targets", "", targets.markdown(tgt), ""])
    print(md)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "latest.json"), "w") as fh:
        json.dump({"meta": meta, "rows": rows, "targets": tgt}, fh, indent=1)
    with open(os.path.join(a.out, "latest.md"), "w") as fh:
        fh.write(md)
    print(f"\nwrote {a.out}/latest.json and latest.md", file=sys.stderr)


if __name__ == "__main__":
    main()
