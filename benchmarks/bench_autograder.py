"""Benchmark: autograder throughput on this machine.

Measures (issue 12's numbers to hold)
-------------------------------------
* one correct submission of each notebook graded through the CLI (``python -m autograder grade``, a new
  process: interpreter start, imports, every exercise in its own sandboxed worker, judged by
  ``course_utils.judges`` on its hidden cases), against the 2 s target (each must score full);
* a batch of 200 submissions (the four masters' correct answers and the released stubs, in turn) graded by
  ``python -m autograder batch --jobs 2``: submissions per minute, against the 300 per minute target;
* a notebook over the 100 MB cap and a 99 MB notebook of tiny cells (just under it), each refused in a
  fresh grader process: seconds and the process's peak memory, against 2 s and 200 MB.

Run: ``.venv/bin/python -m benchmarks.bench_autograder [--batch 200] [--jobs 2] [--quick]`` (``make bench``
runs every benchmark; ``make bench BENCH=autograder`` this one). Prints one line per measurement with its
ratio to the target.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
TARGET_PER_MINUTE = 300.0
TARGET_REFUSE_SECONDS = 2.0
TARGET_REFUSE_MB = 200.0

_REFUSE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from autograder.grading import grade_notebook
start = time.perf_counter()
results = grade_notebook(sys.argv[2])
seconds = time.perf_counter() - start
assert results["score"] == 0.0 and not results["tests"], results["output"]
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]  # reset at exec, unlike ru_maxrss
print(seconds, int(hwm.split()[1]) / 1024)
"""


def _write_big(path, over_cap):
    """A notebook just over the 100 MB cap (one big output) or of 99 MB tiny cells (just under it)."""
    with open(path, "wb") as handle:
        handle.write(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [\n')
        if over_cap:
            handle.write(b'{"cell_type": "markdown", "metadata": {}, "source": "')
            handle.write(b"x" * (100 * 2**20 + 1024) + b'"}')
        else:
            cell = b'{"cell_type": "raw", "metadata": {}, "source": "x"},\n'
            count = 99 * 2**20 // len(cell)
            for _ in range(count // 1000):
                handle.write(cell * 1000)
            handle.write(cell * (count % 1000) + cell.rstrip(b",\n"))
        handle.write(b"\n]}\n")


def time_refusals(workdir):
    """(name, seconds, peak MB) of refusing each big notebook in a fresh grader process.

    Returns
    -------
    list of (str, float, float)
    """
    rows = []
    for name, over in (("over the 100 MB cap", True), ("99 MB of tiny cells", False)):
        path = Path(workdir) / f"big_{int(over)}.ipynb"
        _write_big(path, over)
        done = subprocess.run([sys.executable, "-c", _REFUSE, str(ROOT), str(path)], cwd=ROOT, check=True,
                              capture_output=True, text=True)
        seconds, peak = map(float, done.stdout.split())
        rows.append((name, seconds, peak))
        path.unlink()
    return rows


def _sources():
    """(name, path) of the masters (correct answers) and of the student stubs, for every notebook present."""
    masters = sorted((ROOT / "notebooks" / "source").glob("*.ipynb"))
    stubs = [ROOT / "notebooks" / p.name for p in masters if (ROOT / "notebooks" / p.name).is_file()]
    return masters, stubs


def time_single(masters, workdir):
    """Wall-clock seconds to grade each master through the CLI.

    Returns
    -------
    dict notebook name -> seconds
    """
    times = {}
    for path in masters:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--results",
                        str(Path(workdir) / f"{path.stem}.json")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        times[path.stem] = time.perf_counter() - start
        results = json.loads((Path(workdir) / f"{path.stem}.json").read_text())
        extra = results.get("extra_data", {})
        assert results["score"] == extra.get("max_score"), f"{path.name} did not score full: {results['output']}"
    return times


def time_batch(masters, stubs, n, jobs, workdir):
    """Seconds to grade a folder of ``n`` submissions with ``jobs`` parallel jobs.

    Returns
    -------
    float
    """
    folder = Path(workdir) / "submissions"
    folder.mkdir()
    pool = list(masters) + list(stubs)
    for i in range(n):
        shutil.copy(pool[i % len(pool)], folder / f"student{i:03d}_{pool[i % len(pool)].name}")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "batch", str(folder), "--results-dir",
                    str(Path(workdir) / "results"), "--jobs", str(jobs)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None):
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a batch of 20 instead of 200")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes the same options to every benchmark
    if args.quick:
        args.batch = min(args.batch, 20)
    masters, stubs = _sources()
    if not masters:
        print("no master notebooks in notebooks/source: run `make notebooks` first")
        return 1
    with tempfile.TemporaryDirectory() as workdir:
        for name, seconds in time_single(masters, workdir).items():
            print(f"autograder  one correct submission  {name:24s} {seconds:6.2f} s   "
                  f"{seconds / TARGET_SECONDS:5.2f} x the {TARGET_SECONDS:g} s target")
        seconds = time_batch(masters, stubs, args.batch, args.jobs, workdir)
        refusals = time_refusals(workdir)
    per = seconds / args.batch
    print(f"autograder  batch of {args.batch}, --jobs {args.jobs}: {seconds:6.1f} s total, {per:5.2f} s per submission, "
          f"{60.0 / per:6.1f} submissions per minute   {TARGET_PER_MINUTE / (60.0 / per):5.2f} x the "
          f"{TARGET_PER_MINUTE:g}/min target (lower is better)")
    for name, secs, peak in refusals:
        print(f"autograder  refuse a notebook {name:22s} {secs:6.2f} s, grader peak {peak:6.1f} MB   "
              f"{secs / TARGET_REFUSE_SECONDS:5.2f} x the {TARGET_REFUSE_SECONDS:g} s and "
              f"{peak / TARGET_REFUSE_MB:5.2f} x the {TARGET_REFUSE_MB:g} MB targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
