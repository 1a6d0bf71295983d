"""workloads.py — the benchmark's workload list (full and quick sets).

A case is one (group, workload, mode, B, T, H) run; report.py runs each case
on both sides for every thread count. Groups are what --only selects:
gru_attn, seq2seq, lstm_stack, mha, tiny_transformer, latency, scale.
"""
from dataclasses import dataclass

T_OUT = 20  # seq2seq decoder steps (as flops.T_OUT)


@dataclass(frozen=True)
class Case:
    group: str
    workload: str
    mode: str
    B: int
    T: int
    H: int
    t_out: int = T_OUT

    @property
    def key(self):  # one measurement serves every group that lists the same run
        return (self.workload, self.mode, self.B, self.T, self.H, self.t_out)

    def label(self):
        return f"{self.workload} B={self.B} T={self.T} H={self.H}"


BASE = [  # (group, workload, B, T, H)
    ("gru_attn", "gru_attn", 64, 50, 64),
    ("gru_attn", "gru_attn", 64, 500, 64),
    ("seq2seq", "seq2seq", 64, 50, 64),
    ("lstm_stack", "lstm_stack", 64, 100, 64),
    ("mha", "mha", 32, 128, 128),
    ("tiny_transformer", "tiny_transformer", 16, 100, 64),
]
LATENCY = [("gru_attn", 50), ("seq2seq", 50), ("stream", 1)]  # B = 1, H = 64, inference
SCALE_T = {"gru_attn": 50, "lstm_stack": 100}
SCALE_FULL = [(H, B) for H in (64, 256, 512) for B in (1, 64, 256)]
SCALE_QUICK = [(64, 1), (256, 64), (512, 256)]
QUICK_SKIP = {("gru_attn", 500)}  # the T=500 run is full-set only


def cases(quick):
    out = []
    for group, w, B, T, H in BASE:
        if quick and (w, T) in QUICK_SKIP:
            continue
        out += [Case(group, w, m, B, T, H) for m in ("train", "infer")]
    out += [Case("latency", w, "infer", 1, T, 64) for w, T in LATENCY]
    for w, T in SCALE_T.items():
        for H, B in (SCALE_QUICK if quick else SCALE_FULL):
            out += [Case("scale", w, m, B, T, H) for m in ("train", "infer")]
    return out
