"""Stored outputs do not depend on how fast the machine is.

nbval (in ``make test``) re-runs every master and compares its outputs with the stored ones. It runs them
in a kernel whose clock stalls (the ``stalling-clock`` kernelspec that tests/conftest.py installs): ``tests/stalling_clock/sitecustomize.py`` makes
``time.perf_counter`` read 50 ms later at every call than at the one before, which is what a busy
machine does at random to a process paused between two readings. Anything decided by timing (a progress
bar that opens when a check "looks slow") then shows up as an output nbval did not expect.

Here: proof that the stalling clock really reaches the kernel (and only the kernel), and, marked slow
(``make test-slow``, run by ``.ci/run``), nbval over every master while two CPU-bound processes, started
and stopped by PID, keep both cores busy.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import STALLING_KERNEL

ROOT = Path(__file__).resolve().parents[1]
STALLING_CLOCK = ROOT / "tests" / "stalling_clock"


def stalled_env():
    """The environment of a process whose Jupyter kernels get the stalling clock."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(STALLING_CLOCK)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("MPLBACKEND", None)
    return env


def test_the_stalling_clock_reaches_the_kernel_and_only_the_kernel():
    """make test's nbval kernels (the ``stalling-clock`` kernelspec of tests/conftest.py) read a clock 50 ms
    later at every call and plot inline, as a kernel without MPLBACKEND does; other Pythons keep the clock."""
    probe = ("import os, time, matplotlib\n"
             "a = time.perf_counter(); b = time.perf_counter()\n"
             "print(f'{b - a:.3f}', os.environ.get('STALLING_CLOCK_ACTIVE'), matplotlib.get_backend())")
    nb = new_notebook(cells=[new_code_cell(probe)])
    NotebookClient(nb, timeout=600, kernel_name=STALLING_KERNEL).execute()
    gap, active, backend = nb.cells[0].outputs[0]["text"].split()
    assert float(gap) >= 0.05 and active == "1"  # consecutive readings 50 ms apart, in the kernel
    assert backend == "module://matplotlib_inline.backend_inline"
    plain = subprocess.run([sys.executable, "-c", "import time; a = time.perf_counter(); "
                            "print(time.perf_counter() - a < 0.05)"],
                           env=stalled_env(), capture_output=True, text=True, timeout=300)
    assert plain.stdout.strip() == "True"  # another Python (pytest itself) keeps the real clock


def test_make_test_runs_nbval_with_the_stalling_clock():
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "--nbval " in recipe and f"--nbval-kernel-name {STALLING_KERNEL}" in recipe, recipe
    assert "notebooks/source" in recipe, recipe


def start_burners(count=2):
    """Start ``count`` CPU-bound processes (each spins one core); return them for ``stop_burners``."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(count)]


def stop_burners(burners):
    for proc in burners:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


@pytest.mark.slow
def test_masters_match_their_stored_outputs_with_both_cores_busy():
    burners = start_burners(2)
    try:
        deadline = time.monotonic() + 60  # both spinning before nbval starts (a condition, not a sleep)
        while not all(_cpu_seconds(p.pid) > 0.2 for p in burners):
            assert time.monotonic() < deadline, "the CPU-bound processes never started spinning"
            time.sleep(0.05)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "--nbval",
             "--nbval-kernel-name",
             STALLING_KERNEL, "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "notebooks/source"],
            cwd=ROOT, capture_output=True, text=True, timeout=3600)
    finally:
        stop_burners(burners)
    assert all(p.returncode is not None for p in burners)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r"\b\d+ passed\b", summary) and "failed" not in summary, summary


def _cpu_seconds(pid):
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
