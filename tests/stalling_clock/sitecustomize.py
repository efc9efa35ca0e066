"""A stalling clock for Jupyter kernels, used by tests/test_machine_speed.py.

Python imports ``sitecustomize`` at start-up from the first folder on ``PYTHONPATH`` that has one. With
this folder there, every Jupyter kernel (``python -m ipykernel_launcher``) gets a ``time.perf_counter``
that reads ``STALL_SECONDS`` later at every call than at the call before: what a busy machine does at
random when it pauses a process between two readings of the clock, here on every reading. Any output
decided by timing (a progress bar that appears when a check "looks slow") then changes, and nbval sees
it. Other processes (pytest itself) are left alone.
"""

import os
import sys
import time

STALL_SECONDS = float(os.environ.get("STALL_SECONDS", "0.05"))


def _stalled(clock, step):
    """Wrap ``clock`` so that its k-th call reads ``k * step`` later than the clock itself."""
    calls = 0

    def stalled():
        nonlocal calls
        calls += 1
        return clock() + calls * step

    return stalled


if "ipykernel_launcher" in " ".join(getattr(sys, "orig_argv", ())):
    time.perf_counter = _stalled(time.perf_counter, STALL_SECONDS)
    time.perf_counter_ns = _stalled(time.perf_counter_ns, int(STALL_SECONDS * 1e9))
    os.environ["STALLING_CLOCK_ACTIVE"] = "1"
