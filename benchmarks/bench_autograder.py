"""Benchmark: autograder throughput on this machine.

Measures
--------
* one correct submission of each notebook graded through the CLI (``python -m autograder grade``, a new
  process: interpreter start, imports, every exercise in its own sandboxed worker), against the 5 s target;
* a batch of 50 submissions (the four masters' correct answers and the released stubs, in turn) graded by
  ``python -m autograder batch --jobs 2``: seconds per submission and submissions per minute.

Run: ``.venv/bin/python -m benchmarks.bench_autograder [--batch 50] [--jobs 2] [--quick]`` (``make bench``
runs every benchmark; ``make bench BENCH=autograder`` this one). Prints one line per measurement with its ratio to the target.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0


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
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a batch of 10 instead of 50")
    args, _ = parser.parse_known_args(argv)  # `make bench` passes the same options to every benchmark
    if args.quick:
        args.batch = min(args.batch, 10)
    masters, stubs = _sources()
    if not masters:
        print("no master notebooks in notebooks/source: run `make notebooks` first")
        return 1
    with tempfile.TemporaryDirectory() as workdir:
        for name, seconds in time_single(masters, workdir).items():
            print(f"autograder  one correct submission  {name:24s} {seconds:6.2f} s   "
                  f"{seconds / TARGET_SECONDS:5.2f} x the {TARGET_SECONDS:g} s target")
        seconds = time_batch(masters, stubs, args.batch, args.jobs, workdir)
    per = seconds / args.batch
    print(f"autograder  batch of {args.batch}, --jobs {args.jobs}: {seconds:6.1f} s total, {per:5.2f} s per submission, "
          f"{60.0 / per:6.1f} submissions per minute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
