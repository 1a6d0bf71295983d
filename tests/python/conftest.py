"""conftest.py — makes `import seqattn` use the library under test.

meson sets SEQATTN_LIB to the built libseqattn.so and PYTHONPATH to the
source tree's python/ directory. Run by hand, the first build directory of
this checkout that holds the library is used instead (build-py, build, ...),
and python/ is put on sys.path.

The package looks next to itself before SEQATTN_LIB; a stray copy of the .so
there would silently test another library, so the session fails if the
loaded file is not the one SEQATTN_LIB names.
"""
import glob
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _find_build_lib():
    for d in ["build-py", "build", "build-test"] + sorted(glob.glob(os.path.join(ROOT, "build*"))):
        p = os.path.join(ROOT, d, "lib", "libseqattn.so")
        if os.path.isfile(p):
            return p
    return None


if not os.environ.get("SEQATTN_LIB"):
    found = _find_build_lib()
    if found:
        os.environ["SEQATTN_LIB"] = found

try:
    import seqattn  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import seqattn  # noqa: F401,E402


def pytest_configure(config):
    want = os.environ.get("SEQATTN_LIB")
    if not want:
        raise pytest.UsageError("SEQATTN_LIB is not set and no build directory holds libseqattn.so; "
                                "build with meson first or set SEQATTN_LIB")
    seqattn.load_library()
    got = seqattn.library_path()
    if os.path.realpath(got) != os.path.realpath(want):
        raise pytest.UsageError(f"seqattn loaded {got}, not SEQATTN_LIB={want} "
                                "(a copy next to the package takes precedence: remove it)")


def pytest_report_header(config):
    return [f"seqattn: {seqattn.__file__}", f"libseqattn: {seqattn.library_path()} ({seqattn.version()})"]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

