"""torch_bench.py — times one workload on PyTorch and prints one JSON line.

Same flags and JSON as bench/sa_bench.c:
  --workload NAME --mode train|infer --batch B --seq T --hidden H [--seq-out 20]
  [--threads N] [--warmup 3] [--min-iters 5] [--min-time 1.0] [--max-iters 100000]
Threads: torch.set_num_threads(N) here, plus OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set by the caller before the start.

One step: train = zero_grad(set_to_none) + forward + MSE + backward + Adam
step; infer = forward under torch.inference_mode(); stream = one GRUCell step
with the state carried over. Wall time and process CPU time (all threads) of
each step are kept; their medians are reported. Peak RSS includes the torch import (base_rss_kb
is the RSS right after it).
"""
import argparse
import json
import os
import sys
import time


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="gru_attn")
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=50)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seq-out", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-iters", type=int, default=5)
    p.add_argument("--max-iters", type=int, default=100000)
    p.add_argument("--min-time", type=float, default=1.0)
    return p.parse_args()


def make_step(torch, model, xs, target, train, stream):
    F = torch.nn.functional
    if stream:
        x, h0 = xs
        state = {"h": h0}

        def step():
            with torch.inference_mode():
                y, state["h"] = model(x, state["h"])
            return y
        return step
    if not train:
        def step():
            with torch.inference_mode():
                return model(*xs)
        return step
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(*xs), target)
        loss.backward()
        opt.step()
        return loss
    return step


def main():
    a = parse()
    import torch
    import torch_models
    torch.set_num_threads(a.threads)
    base_kb = status_kb("VmRSS")
    train, stream = a.mode == "train", a.workload == "stream"
    if stream and train:
        sys.exit("torch_bench: stream is inference only")
    model, xs, target = torch_models.build(a.workload, a.batch, a.seq, a.hidden, a.seq_out, train)
    step = make_step(torch, model, xs, target, train, stream)
    t0 = time.perf_counter()
    i = 0
    while i < a.warmup or time.perf_counter() - t0 < a.min_time / 4:
        step()
        i += 1
    ms, cpu = [], []
    t0 = time.perf_counter()
    while len(ms) < a.max_iters and (len(ms) < a.min_iters or time.perf_counter() - t0 < a.min_time):
        s, c = time.perf_counter(), time.process_time()
        step()
        ms.append(1e3 * (time.perf_counter() - s))
        cpu.append(1e3 * (time.process_time() - c))
    import numpy as np
    q = lambda p: float(np.quantile(ms, p))
    print(json.dumps({
        "impl": "torch", "version": torch.__version__, "workload": a.workload, "mode": a.mode,
        "B": a.batch, "T": a.seq, "H": a.hidden, "t_out": a.seq_out, "threads": a.threads,
        "blas_threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()), "iters": len(ms),
        "mean_ms": sum(ms) / len(ms), "p10_ms": q(0.1), "p90_ms": q(0.9), "median_ms": q(0.5),
        "cpu_median_ms": float(np.median(cpu)),
        "base_rss_kb": base_kb, "peak_rss_kb": status_kb("VmHWM"),
        "omp_env": os.environ.get("OMP_NUM_THREADS")}))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
