"""table.py — formats the aggregated rows of report.py as markdown tables."""

GROUP_TITLES = {
    "gru_attn": "GRU(64) + additive attention + dense",
    "seq2seq": "seq2seq: BiLSTM(64) encoder, LSTM(128) decoder, cross-attention",
    "lstm_stack": "2-layer BiLSTM(64), mean, 128-64-1",
    "mha": "self-attention MHA(128, 4 heads), mean, dense",
    "tiny_transformer": "2 causal pre-norm blocks (d 64, 4 heads, ff 256)",
    "latency": "latency: single sample (B = 1) inference; stream = one sa_step of GRU(64) + dense",
    "scale": "scale: hidden size H and batch B",
}

HEADER = ("| case | mode | thr | seqattn ms | torch ms | torch/sa | torch/sa CPU | sa GFLOP/s | torch GFLOP/s "
          "| sgemm GFLOP/s (M×N×K) | sa/sgemm | peak RSS MB sa / torch (Δ) "
          "| sa MB: activations / backward's need (×); grads, scratch | spread sa / torch |")


def _f(x, fmt):
    return "—" if x is None else format(x, fmt)


def _ms(x):
    return "—" if x is None else f"{x:.4g}"


def row_md(r):
    if r.get("skipped"):
        return (f"| {r['label']} | {r['mode']} | {r['threads']} | skipped: {r['skipped']} "
                "| | | | | | | | | | |")
    shape = "×".join(str(v) for v in r["sgemm_shape"])
    sa_mb = r["sa_peak_kb"] / 1024 if r.get("sa_peak_kb") else None
    t_mb = r["torch_peak_kb"] / 1024 if r.get("torch_peak_kb") else None
    t_delta = (r["torch_peak_kb"] - r["torch_base_kb"]) / 1024 if r.get("torch_peak_kb") else None
    mem = r.get("sa_mem") or {}
    mb = lambda k: mem[k] / 2**20 if k in mem else None
    kept = mb("mem_values") + mb("mem_workspace") if "mem_values" in mem and "mem_workspace" in mem else None
    need_mb = r["need_bytes"] / 2**20 if r.get("need_bytes") else None
    times = f" ({kept / need_mb:.2f}×)" if kept is not None and need_mb else ""
    frac = r["sa_gflops"] / r["sgemm_gflops"] if r.get("sa_gflops") and r.get("sgemm_gflops") else None
    warn = " ⚠ params differ" if r.get("params_mismatch") else ""
    return (f"| {r['label']}{warn} | {r['mode']} | {r['threads']} | {_ms(r.get('sa_ms'))} | {_ms(r.get('torch_ms'))} "
            f"| **{_f(r.get('ratio'), '.2f')}** | {_f(r.get('cpu_ratio'), '.2f')} | {_f(r.get('sa_gflops'), '.1f')} | {_f(r.get('torch_gflops'), '.1f')} "
            f"| {_f(r.get('sgemm_gflops'), '.1f')} ({shape}) | {_f(frac, '.0%')} "
            f"| {_f(sa_mb, '.0f')} / {_f(t_mb, '.0f')} ({_f(t_delta, '.0f')}) "
            f"| {_f(kept, '.1f')} / {_f(need_mb, '.1f')}{times}; {_f(mb('mem_grads'), '.1f')}, "
            f"{_f(mb('mem_scratch'), '.1f')} "
            f"| {_f(r.get('sa_spread'), '.0%')} / {_f(r.get('torch_spread'), '.0%')} |")


def markdown(rows):
    out, seen = [], []
    for r in rows:
        if r["group"] not in seen:
            seen.append(r["group"])
    for g in seen:
        out += ["", f"### {GROUP_TITLES.get(g, g)}", "", HEADER, "|" + "---|" * 14]
        out += [row_md(r) for r in rows if r["group"] == g]
    return "\n".join(out)
