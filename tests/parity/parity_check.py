"""parity_check.py — the comparison harness shared by the parity scripts:
the torch availability guard, the tolerance rule, and per-case reporting.

Tolerance rule: max|got - want| <= atol + rtol * max|want| over the whole tensor.
Both sides compute in float32, so their difference is rounding noise that grows
with the magnitude of the terms summed, i.e. with the tensor's scale, not with
each element's own value (an element-wise relative test would be flaky on
entries that are near zero by cancellation, like the bias gradient of a
softmax score). A worst-case (linear) float32 accumulation over ~10^3
dependent operations - a 2-layer, 17-step GRU gradient - is eps * 10^3 ~ 1e-4
relative; typical noise is ~1e-6. Forward values go through far fewer
operations than gradients and are checked at rtol 1e-5, gradients at 1e-4:
the worst check in these scripts uses under 3% of its bound (~35x margin with
OpenBLAS), yet a single weight off by 1e-3 fails. atol only keeps a tensor of
scale ~0 comparable; it is far below every gradient scale here (gradients of a
batch-mean loss are ~1e-3) so the relative part decides. Real bugs give errors
of order one.
"""
import os
import sys
import traceback

VALUE = (1e-7, 1e-5)  # (atol, rtol) for forward values
GRAD = (1e-8, 1e-4)   # (atol, rtol) for gradients

SKIP = 77  # meson: test skipped


def require_torch():
    """Imports torch. Exits 77 (skip) only when this is /usr/bin/python3 and it
    lacks torch; any other interpreter without torch is a failure, so a
    misconfigured build cannot pass the parity suite by not running it."""
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        system = os.path.realpath(sys.executable) == os.path.realpath("/usr/bin/python3")
        print(f"{'SKIP' if system else 'FAIL'}: cannot import torch/numpy in {sys.executable}: {e}")
        sys.exit(SKIP if system else 1)
    torch.set_default_dtype(torch.float32)
    return torch


class Case:
    """Collects the checks of one case and prints its one-line summary."""

    def __init__(self, report, name):
        self.report, self.name, self.parts, self.failures = report, name, [], []

    def _compare(self, label, got, want, tol, nonzero):
        """@return (max abs error, failure message or None)."""
        import numpy as np
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return float("inf"), f"{label}: shape {got.shape} != torch {want.shape}"
        scale = float(np.abs(want).max()) if want.size else 0.0
        diff = np.abs(got - want)
        err = float(diff.max()) if diff.size else 0.0
        bound = tol[0] + tol[1] * scale
        if not np.isfinite(got).all():
            return float("inf"), f"{label}: non-finite values"
        if err > bound:
            i = np.unravel_index(int(diff.argmax()), diff.shape)
            return err, (f"{label}: max err {err:.3e} > {bound:.3e} at {tuple(int(k) for k in i)}: "
                         f"seqattn {got[i]:.6g} torch {want[i]:.6g} (scale {scale:.3g})")
        if nonzero and scale == 0.0:  # a path that never ran would pass otherwise
            return err, f"{label}: torch reference is all zeros (vacuous check)"
        return err, None

    def close(self, label, got, want, tol=GRAD, nonzero=True):
        """Compares one array with torch's; nonzero=True also fails when the
        reference is all zeros."""
        err, fail = self._compare(label, got, want, tol, nonzero)
        self.parts.append(f"{label} {err:.1e}")
        if fail:
            self.failures.append(fail)

    def close_all(self, label, pairs, tol=GRAD, nonzero=True):
        """Compares many arrays ({name: (got, want)}); the summary shows the
        largest error, failures are listed per array."""
        worst = 0.0
        if not pairs:
            self.failures.append(f"{label}: nothing to compare")
        for name, (got, want) in pairs.items():
            err, fail = self._compare(name, got, want, tol, nonzero)
            worst = max(worst, err)
            if fail:
                self.failures.append(fail)
        self.parts.append(f"{label}[{len(pairs)}] {worst:.1e}")

    def expect(self, label, ok, detail=""):
        """A boolean property (e.g. attention sums to 1)."""
        self.parts.append(f"{label} {'ok' if ok else 'BAD'}")
        if not ok:
            self.failures.append(f"{label}: {detail}")


class Report:
    def __init__(self):
        self.failed = 0
        self.count = 0

    def run(self, name, fn, *args, **kw):
        """Runs fn(case, ...) and prints 'PASS|FAIL name: label err, ...'."""
        case = Case(self, name)
        self.count += 1
        try:
            fn(case, *args, **kw)
        except Exception:  # an exception is a failed case, the others still run
            case.failures.append("exception:\n" + traceback.format_exc())
        status = "FAIL" if case.failures else "PASS"
        print(f"{status} {name}: " + ", ".join(case.parts), flush=True)
        for f in case.failures:
            print(f"    {f}", flush=True)
        self.failed += bool(case.failures)

    def exit(self):
        print(f"{self.count - self.failed}/{self.count} cases passed")
        sys.exit(1 if self.failed or not self.count else 0)
